//! `SpeechEventsNode`: voice events for live audio, from the per-frame decisions that
//! `VoiceActivityDetector` attaches (`include_metadata: true`).
//!
//! The state machine follows @ricky0123/vad-web's `FrameProcessor` (speech confirmed
//! after a minimum length, a redemption period before it ends, pre-speech padding
//! in the utterance's audio), with every length in ms rather than in frames:
//!
//! - a speech frame starts a candidate utterance; once its speech spans
//!   `min_speech_ms`, `speech_start` is emitted with the time the speech began;
//! - non-speech frames shorter than `redemption_ms` in total stay in the utterance;
//!   a longer run ends it: `speech_end` (the audio from `pre_speech_pad_ms` before
//!   the start to the end of the last speech frame), or `misfire` when it was never
//!   confirmed; `max_utterance_ms` cuts a long one;
//! - with `frame_events`, every decided frame is also an event (decision, score, level);
//! - with `speech_chunk_ms`, the utterance's audio also streams while it is spoken:
//!   `speech_chunk` events between `speech_start` and `speech_end`, each with the audio
//!   since the previous one (the first from `pre_speech_pad_ms` before the start), so a
//!   recogniser can start before the speaker stops.
//!
//! Times are seconds of stream time (samples received / sample rate), the same in a
//! batch run over a file and in a live session over the same audio, however it is
//! chunked. Parameters can be changed while a session runs.

use serde_json::{json, Value};

use crate::data::{AudioBuffer, RuntimeData};
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::nodes::expect_audio;
use crate::nodes::stream::FormatGuard;
use crate::nodes::vad::DecidedFrame;
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::{field, Shape};

const PARAMS: &[ParamSpec] = &[
    ParamSpec::optional("min_speech_ms", ParamKind::Number)
        .default(ParamDefault::Number(250.0))
        .doc("Speech shorter than this, in ms, is a `misfire`, not an utterance; `speech_start` comes once speech has lasted this long."),
    ParamSpec::optional("redemption_ms", ParamKind::Number)
        .default(ParamDefault::Number(300.0))
        .doc("Non-speech, in ms, that ends an utterance (the hangover); shorter pauses stay in it."),
    ParamSpec::optional("pre_speech_pad_ms", ParamKind::Number)
        .default(ParamDefault::Number(300.0))
        .doc("Audio before the speech start, in ms, included in the utterance's audio."),
    ParamSpec::optional("max_utterance_ms", ParamKind::Number)
        .default(ParamDefault::Number(30000.0))
        .doc("Longest utterance, in ms; a longer one is cut and a new one starts."),
    ParamSpec::optional("frame_events", ParamKind::Bool)
        .default(ParamDefault::Bool(true))
        .doc("Emit a `frame` event per VAD frame: `{start, end, is_speech, score, level_db}`."),
    ParamSpec::optional("speech_chunk_ms", ParamKind::Number)
        .default(ParamDefault::Number(0.0))
        .doc("Stream a confirmed utterance's audio while it is spoken: each time this many ms of new audio are decided, a `speech_chunk` event `{start, audio_start, end, index, final}` with that audio (contiguous; the first from `pre_speech_pad_ms` before the start, the `final` one at `speech_end`); 0: off."),
];

/// Its events: JSON for the ones without audio, audio (with `metadata.event`) for the
/// utterance's audio. Times are seconds of stream time.
const EVENTS: Shape = Shape::OneOf(&[
    Shape::Object(&[
        field("event", Shape::Literal("speech_start")),
        field("start", Shape::Number),
    ]),
    Shape::Object(&[
        field("event", Shape::Literal("misfire")),
        field("start", Shape::Number),
        field("end", Shape::Number),
    ]),
    Shape::Object(&[
        field("event", Shape::Literal("frame")),
        field("start", Shape::Number),
        field("end", Shape::Number),
        field("is_speech", Shape::Bool),
        field("score", Shape::Number),
        field("level_db", Shape::Number),
    ]),
    Shape::Audio(&[
        field("event", Shape::Literal("speech_chunk")),
        field(
            "speech_chunk",
            Shape::Object(&[
                field("start", Shape::Number),
                field("audio_start", Shape::Number),
                field("end", Shape::Number),
                field("index", Shape::Number),
                field("final", Shape::Bool),
            ]),
        ),
    ]),
    Shape::Audio(&[
        field("event", Shape::Literal("speech_end")),
        field(
            "speech_end",
            Shape::Object(&[
                field("start", Shape::Number),
                field("end", Shape::Number),
                field("audio_start", Shape::Number),
                field("duration_ms", Shape::Number),
            ]),
        ),
    ]),
]);

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "SpeechEventsNode",
        aliases: &["SpeechEvents"],
        summary: "audio with VAD frames -> speech_start / speech_end (with the utterance's audio) / misfire / frame events",
        params: PARAMS,
        output: EVENTS,
        create: |p| Ok(Box::new(SpeechEvents::from_params(p)?)),
    }]
}

/// The tunable lengths, in ms.
#[derive(Debug, Clone, Copy)]
struct Settings {
    min_speech_ms: f64,
    redemption_ms: f64,
    pre_speech_pad_ms: f64,
    max_utterance_ms: f64,
    frame_events: bool,
    speech_chunk_ms: f64,
}

impl Settings {
    fn from_params(p: &Params<'_>) -> Result<Self, ParamError> {
        let ms = |name: &str, max: f64| {
            let v = p.f64(name);
            if v.is_finite() && (0.0..=max).contains(&v) {
                Ok(v)
            } else {
                Err(ParamError::new(
                    name,
                    format!("must be 0 to {max} ms, got {v}"),
                ))
            }
        };
        let settings = Settings {
            min_speech_ms: ms("min_speech_ms", 60_000.0)?,
            redemption_ms: ms("redemption_ms", 60_000.0)?,
            pre_speech_pad_ms: ms("pre_speech_pad_ms", 10_000.0)?,
            max_utterance_ms: ms("max_utterance_ms", 600_000.0)?,
            frame_events: p.bool("frame_events"),
            speech_chunk_ms: ms("speech_chunk_ms", 60_000.0)?,
        };
        if settings.max_utterance_ms < settings.min_speech_ms || settings.max_utterance_ms == 0.0 {
            return Err(ParamError::new(
                "max_utterance_ms",
                format!(
                    "must be > 0 and at least min_speech_ms ({})",
                    settings.min_speech_ms
                ),
            ));
        }
        Ok(settings)
    }
}

/// An utterance in progress.
#[derive(Debug, Clone, Copy)]
struct Open {
    start: u64,
    /// End of its last speech frame.
    last_speech_end: u64,
    /// Non-speech since then, in frames.
    pause: u64,
    confirmed: bool,
    /// Frame up to which `speech_chunk` events carried its audio, and how many there were.
    chunked_to: Option<u64>,
    chunks: u64,
}

/// The event state.
pub struct SpeechEvents {
    settings: Settings,
    /// Interleaved samples from absolute frame `base` on.
    buffer: Vec<f32>,
    base: u64,
    format: FormatGuard,
    open: Option<Open>,
    /// End of the last decided frame seen (frames must come in order).
    decided: u64,
    /// The frame the VAD's positions count from: 0, or where a remote VAD reconnected.
    origin: u64,
}

impl SpeechEvents {
    fn from_params(p: Params<'_>) -> Result<Self, ParamError> {
        Ok(SpeechEvents {
            settings: Settings::from_params(&p)?,
            buffer: Vec::new(),
            base: 0,
            format: FormatGuard::default(),
            open: None,
            decided: 0,
            origin: 0,
        })
    }

    fn rate(&self) -> u32 {
        self.format.fixed().map_or(16_000, |f| f.sample_rate)
    }

    fn channels(&self) -> u64 {
        self.format
            .fixed()
            .map_or(1, |f| u64::from(f.channels.max(1)))
    }

    fn frames_of(&self, ms: f64) -> u64 {
        (ms * f64::from(self.rate()) / 1000.0).round() as u64
    }

    fn seconds(&self, frame: u64) -> f64 {
        frame as f64 / f64::from(self.rate())
    }

    fn event(&self, name: &str, fields: Value) -> RuntimeData {
        let mut event = json!({ "event": name });
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        RuntimeData::Json(event)
    }

    /// The first frame of an utterance's audio: `pre_speech_pad_ms` before its start, or
    /// the oldest still held.
    fn audio_start(&self, open: &Open) -> u64 {
        open.start
            .saturating_sub(self.frames_of(self.settings.pre_speech_pad_ms))
            .max(self.base)
    }

    /// The held audio of frames `from..to` (clamped to what is held), as an item.
    fn audio_of(&self, from: u64, to: u64) -> Option<AudioBuffer> {
        let format = self.format.fixed()?;
        let ch = self.channels();
        let to = ((to.saturating_sub(self.base) * ch) as usize).min(self.buffer.len());
        let from = ((from.saturating_sub(self.base) * ch) as usize).min(to);
        Some(AudioBuffer::new(
            self.buffer[from..to].to_vec(),
            format.sample_rate,
            format.channels,
        ))
    }

    /// A `speech_chunk` event with the audio of frames `from..to` of utterance `open`.
    fn chunk(&self, open: &Open, from: u64, to: u64, last: bool, out: &mut Vec<RuntimeData>) {
        let Some(mut audio) = self.audio_of(from, to) else {
            return;
        };
        audio.timestamp_us = Some(from * 1_000_000 / u64::from(self.rate()));
        audio.metadata.insert("event".into(), json!("speech_chunk"));
        audio.metadata.insert(
            "speech_chunk".into(),
            json!({
                "start": self.seconds(open.start),
                "audio_start": self.seconds(from),
                "end": self.seconds(to),
                "index": open.chunks,
                "final": last,
            }),
        );
        out.push(RuntimeData::Audio(audio));
    }

    /// Streams a confirmed utterance's new audio, once `speech_chunk_ms` of it is decided.
    fn stream_chunks(&mut self, out: &mut Vec<RuntimeData>) {
        let Some(mut open) = self.open.filter(|o| o.confirmed) else {
            return;
        };
        if self.settings.speech_chunk_ms <= 0.0 {
            return;
        }
        let from = open.chunked_to.unwrap_or_else(|| self.audio_start(&open));
        if self.decided >= from + self.frames_of(self.settings.speech_chunk_ms).max(1) {
            self.chunk(&open, from, self.decided, false, out);
            open.chunked_to = Some(self.decided);
            open.chunks += 1;
            self.open = Some(open);
        }
    }

    /// `speech_end` with the utterance's audio, or `misfire` if it was never confirmed.
    /// A streamed utterance first gets its `final` chunk (the audio not yet sent, if any).
    fn end(&self, open: Open, out: &mut Vec<RuntimeData>) {
        let (start, end) = (self.seconds(open.start), self.seconds(open.last_speech_end));
        if !open.confirmed {
            out.push(self.event("misfire", json!({ "start": start, "end": end })));
            return;
        }
        if let Some(sent) = open.chunked_to {
            let to = open.last_speech_end.max(sent);
            self.chunk(&open, sent, to, true, out);
        }
        let from_frame = self.audio_start(&open);
        let Some(mut audio) = self.audio_of(from_frame, open.last_speech_end) else {
            return;
        };
        audio.timestamp_us = Some(from_frame * 1_000_000 / u64::from(self.rate()));
        audio.metadata.insert("event".into(), json!("speech_end"));
        audio.metadata.insert(
            "speech_end".into(),
            json!({
                "start": start,
                "end": end,
                "audio_start": self.seconds(from_frame),
                "duration_ms": crate::data::seconds_to_ms(end - start),
            }),
        );
        out.push(RuntimeData::Audio(audio));
    }

    fn step(&mut self, frame: DecidedFrame, out: &mut Vec<RuntimeData>) {
        if self.settings.frame_events {
            let level_db = if frame.rms > 0.0 {
                20.0 * frame.rms.log10()
            } else {
                -120.0
            };
            out.push(self.event(
                "frame",
                json!({
                    "start": self.seconds(frame.start),
                    "end": self.seconds(frame.end),
                    "is_speech": frame.is_speech,
                    "score": frame.score,
                    "level_db": (level_db.max(-120.0) * 100.0).round() / 100.0,
                }),
            ));
        }
        let min_speech = self.frames_of(self.settings.min_speech_ms);
        let redemption = self.frames_of(self.settings.redemption_ms);
        let max_len = self.frames_of(self.settings.max_utterance_ms).max(1);
        match (frame.is_speech, self.open) {
            (true, None) => {
                self.open = Some(Open {
                    start: frame.start,
                    last_speech_end: frame.end,
                    pause: 0,
                    confirmed: false,
                    chunked_to: None,
                    chunks: 0,
                })
            }
            (true, Some(open)) => {
                self.open = Some(Open {
                    last_speech_end: frame.end,
                    pause: 0,
                    ..open
                })
            }
            (false, Some(open)) => {
                let pause = open.pause + (frame.end - frame.start);
                if pause >= redemption {
                    self.end(open, out);
                    self.open = None;
                } else {
                    self.open = Some(Open { pause, ..open });
                }
            }
            (false, None) => {}
        }
        if let Some(open) = self.open {
            let length = open.last_speech_end - open.start;
            if !open.confirmed && length >= min_speech {
                out.push(self.event("speech_start", json!({ "start": self.seconds(open.start) })));
                self.open = Some(Open {
                    confirmed: true,
                    ..open
                });
            }
            if length >= max_len {
                if let Some(open) = self.open.take() {
                    self.end(open, out);
                }
            }
        }
        self.stream_chunks(out);
    }
}

impl Node for SpeechEvents {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "SpeechEventsNode")?;
        if audio.samples.is_empty() && !audio.metadata.contains_key("vad") {
            return Ok(());
        }
        self.format.check(&audio, "SpeechEventsNode")?;
        let received_before = self.base + self.buffer.len() as u64 / self.channels();
        let frames = DecidedFrame::read_all(
            &audio,
            "SpeechEventsNode",
            &mut self.origin,
            received_before,
        )?;
        self.buffer.extend_from_slice(&audio.samples);
        let received = self.base + self.buffer.len() as u64 / self.channels();
        DecidedFrame::check_order(&frames, self.decided, received)?;
        for frame in frames {
            self.decided = frame.end;
            self.step(frame, out);
        }
        // Keep what an open utterance (with its padding) or the next one's padding needs.
        let pad = self.frames_of(self.settings.pre_speech_pad_ms);
        let keep_from = self
            .open
            .map_or(self.decided, |o| o.start)
            .saturating_sub(pad)
            .max(self.base);
        let drop = (((keep_from - self.base) * self.channels()) as usize).min(self.buffer.len());
        self.buffer.drain(..drop);
        self.base = keep_from;
        Ok(())
    }

    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        if let Some(open) = self.open.take() {
            self.end(open, out);
        }
        Ok(())
    }

    fn reconfigure(&mut self, params: Params<'_>) -> Result<(), ParamError> {
        self.settings = Settings::from_params(&params)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(params: Value) -> SpeechEvents {
        let Value::Object(map) = params else { panic!() };
        SpeechEvents::from_params(Params::new(&map, PARAMS)).unwrap()
    }

    /// 16 kHz mono audio of `decisions.len()` 30 ms frames with those decisions.
    fn item(first_frame: u64, decisions: &[bool]) -> RuntimeData {
        let frame = 480u64;
        let mut audio = AudioBuffer::new(vec![0.1; decisions.len() * frame as usize], 16_000, 1);
        let frames: Vec<Value> = decisions
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let start = (first_frame + i as u64) * frame;
                json!({"start_sample": start, "end_sample": start + frame, "is_speech": s, "score": if s { 0.9 } else { 0.1 }, "rms": 0.1})
            })
            .collect();
        audio
            .metadata
            .insert("vad".into(), json!({ "frames": frames }));
        RuntimeData::Audio(audio)
    }

    fn events(out: &[RuntimeData]) -> Vec<(String, f64)> {
        out.iter()
            .filter_map(|d| match d {
                RuntimeData::Json(v) if v["event"] != "frame" => {
                    Some((v["event"].as_str()?.to_string(), v["start"].as_f64()?))
                }
                RuntimeData::Audio(a) => Some((
                    "speech_end".into(),
                    a.metadata["speech_end"]["end"].as_f64()?,
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn short_speech_is_a_misfire_and_long_speech_an_utterance_with_padding() {
        let mut n = node(
            json!({"min_speech_ms": 90, "redemption_ms": 60, "pre_speech_pad_ms": 60, "frame_events": false}),
        );
        let mut out = Vec::new();
        // 2 speech frames (60 ms < 90): misfire; then 5 speech frames: an utterance.
        let pattern = [
            false, false, true, true, false, false, false, true, true, true, true, true, false,
            false,
        ];
        n.process(item(0, &pattern), &mut out).unwrap();
        assert_eq!(
            events(&out),
            vec![
                ("misfire".into(), 0.06),
                ("speech_start".into(), 0.21),
                ("speech_end".into(), 0.36)
            ]
        );
        let RuntimeData::Audio(utterance) = &out[2] else {
            panic!("{:?}", out[2])
        };
        // 60 ms of padding + 150 ms of speech at 16 kHz.
        assert_eq!(utterance.samples.len(), 16 * 210);
        assert_eq!(utterance.metadata["speech_end"]["audio_start"], json!(0.15));
    }

    #[test]
    fn a_remote_vad_that_restarted_counts_from_where_it_reconnected() {
        let speech: Vec<bool> = (0..20).map(|i| (5..15).contains(&i)).collect();
        let mut n = node(json!({"min_speech_ms": 90, "redemption_ms": 90, "frame_events": false}));
        let mut out = Vec::new();
        n.process(item(0, &speech), &mut out).unwrap();
        // Positions going back to 0 without the mark are refused (crafted metadata)...
        assert!(n.process(item(0, &speech), &mut Vec::new()).is_err());
        // ...and with it (a remote VAD's first item after a reconnect) count from frame 20.
        let mut n = node(json!({"min_speech_ms": 90, "redemption_ms": 90, "frame_events": false}));
        n.process(item(0, &speech), &mut Vec::new()).unwrap();
        let mut after = item(0, &speech);
        crate::remote::Restart::default().mark(std::slice::from_mut(&mut after));
        let RuntimeData::Audio(a) = &after else {
            panic!()
        };
        assert!(
            !a.metadata.contains_key(crate::remote::RESTART_KEY),
            "nothing pending: no mark"
        );
        let mut restart = crate::remote::Restart::default();
        restart.reconnected();
        let mut after = item(0, &speech);
        restart.mark(std::slice::from_mut(&mut after));
        let mut out = Vec::new();
        n.process(after, &mut out).unwrap();
        n.process(item(20, &speech), &mut out).unwrap();
        // 20 frames of 30 ms before the restart: its utterance starts at 0.6 + 0.15 s.
        assert_eq!(
            events(&out),
            vec![
                ("speech_start".into(), 0.75),
                ("speech_end".into(), 1.05),
                ("speech_start".into(), 1.35),
                ("speech_end".into(), 1.65)
            ]
        );
    }

    #[test]
    fn chunking_does_not_change_the_events_and_flush_ends_an_open_utterance() {
        let pattern: Vec<bool> = (0..40).map(|i| (5..20).contains(&i) || i >= 30).collect();
        let params = json!({"min_speech_ms": 90, "redemption_ms": 90});
        let mut whole = node(params.clone());
        let mut a = Vec::new();
        whole.process(item(0, &pattern), &mut a).unwrap();
        whole.flush(&mut a).unwrap();
        let mut chunked = node(params);
        let mut b = Vec::new();
        for (i, chunk) in pattern.chunks(3).enumerate() {
            chunked.process(item(i as u64 * 3, chunk), &mut b).unwrap();
        }
        chunked.flush(&mut b).unwrap();
        assert_eq!(events(&a), events(&b));
        assert_eq!(events(&a).last().unwrap().0, "speech_end");
        assert_eq!(a.len(), b.len());
    }

    #[test]
    fn settings_change_while_running_and_bad_ones_are_refused() {
        let mut n = node(json!({"frame_events": false}));
        let mut out = Vec::new();
        n.process(item(0, &[true, true]), &mut out).unwrap();
        assert!(events(&out).is_empty(), "60 ms is below the default 250 ms");
        let changed = json!({"min_speech_ms": 30, "frame_events": false});
        let Value::Object(map) = changed else {
            panic!()
        };
        n.reconfigure(Params::new(&map, PARAMS)).unwrap();
        n.process(item(2, &[true]), &mut out).unwrap();
        assert_eq!(events(&out), vec![("speech_start".into(), 0.0)]);
        let bad = json!({"redemption_ms": -1});
        let Value::Object(map) = bad else { panic!() };
        assert_eq!(
            n.reconfigure(Params::new(&map, PARAMS)).unwrap_err().param,
            "redemption_ms"
        );
        let mut out = Vec::new();
        let Err(e) = n.process(item(0, &[true]), &mut out) else {
            panic!("frames out of order accepted")
        };
        assert!(e.message.contains("inconsistent"), "{}", e.message);
    }

    #[test]
    fn speech_chunks_stream_the_utterance_contiguously_before_it_ends() {
        // Frames of 30 ms whose samples are their own stream index, to check contiguity.
        let pattern: Vec<bool> = (0..30).map(|i| (4..20).contains(&i)).collect();
        let mut samples_item = item(0, &pattern);
        if let RuntimeData::Audio(a) = &mut samples_item {
            a.samples = (0..a.samples.len()).map(|i| i as f32).collect();
        }
        let mut n = node(
            json!({"min_speech_ms": 90, "redemption_ms": 150, "pre_speech_pad_ms": 60, "speech_chunk_ms": 120, "frame_events": false}),
        );
        let mut out = Vec::new();
        n.process(samples_item, &mut out).unwrap();
        let named = |name: &str| -> Vec<&AudioBuffer> {
            out.iter()
                .filter_map(|d| match d {
                    RuntimeData::Audio(a) if a.metadata["event"] == name => Some(a),
                    _ => None,
                })
                .collect()
        };
        let chunks = named("speech_chunk");
        let end = named("speech_end");
        assert_eq!(end.len(), 1);
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        // Every chunk but the final one comes before speech_end, and they are in order.
        let end_at = out
            .iter()
            .position(|d| matches!(d, RuntimeData::Audio(a) if a.metadata["event"] == "speech_end"))
            .unwrap();
        let first_chunk_at = out
            .iter()
            .position(
                |d| matches!(d, RuntimeData::Audio(a) if a.metadata["event"] == "speech_chunk"),
            )
            .unwrap();
        assert!(first_chunk_at < end_at);
        for (k, c) in chunks.iter().enumerate() {
            assert_eq!(c.metadata["speech_chunk"]["index"], k);
            assert_eq!(c.metadata["speech_chunk"]["final"], k + 1 == chunks.len());
        }
        // Contiguous from the padded start; together they hold the utterance's audio.
        let streamed: Vec<f32> = chunks
            .iter()
            .flat_map(|c| c.samples.iter().copied())
            .collect();
        assert_eq!(
            streamed[0],
            (4 * 480 - 2 * 480) as f32,
            "starts pre_speech_pad_ms early"
        );
        assert!(
            streamed.windows(2).all(|w| w[1] == w[0] + 1.0),
            "chunks are not contiguous"
        );
        assert_eq!(&streamed[..end[0].samples.len()], &end[0].samples[..]);
    }
}
