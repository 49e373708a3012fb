//! `AudioBufferAccumulatorNode`: gathers speech into one audio item per utterance,
//! from the per-frame decisions that `VoiceActivityDetector` attaches
//! (`include_metadata: true`).
//!
//! An utterance starts at a speech frame, takes in pauses shorter than
//! `max_pause_ms`, ends at its last speech frame, is cut at
//! `max_utterance_duration_ms`, and is emitted only if it lasts at least
//! `min_utterance_duration_ms`.

use serde_json::json;

use crate::data::{AudioBuffer, RuntimeData};
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::nodes::expect_audio;
use crate::nodes::stream::FormatGuard;
use crate::nodes::vad::DecidedFrame;
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::{field, Shape};

/// Each utterance's audio, with its times (seconds and ms of stream time).
const OUTPUT: Shape = Shape::Audio(&[field(
    "utterance",
    Shape::Object(&[
        field("start_s", Shape::Number),
        field("end_s", Shape::Number),
        field("duration_ms", Shape::Number),
    ]),
)]);

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "AudioBufferAccumulatorNode",
        aliases: &["AudioBufferAccumulator"],
        summary: "audio with VAD frames -> one audio item per utterance",
        params: const {
            &[
                ParamSpec::optional("min_utterance_duration_ms", ParamKind::Number)
                    .default(ParamDefault::Number(250.0))
                    .doc("Shortest utterance emitted, in ms; shorter speech is dropped."),
                ParamSpec::optional("max_utterance_duration_ms", ParamKind::Number)
                    .default(ParamDefault::Number(30000.0))
                    .doc("Longest utterance, in ms; longer speech is cut at this length."),
                ParamSpec::optional("max_pause_ms", ParamKind::Number)
                    .default(ParamDefault::Number(300.0))
                    .doc("Longest pause taken into an utterance, in ms (the hangover); a longer one ends it."),
            ]
        },
        output: OUTPUT,
        create: |p| Ok(Box::new(Accumulator::from_params(p)?)),
    }]
}

/// Utterance assembly state.
pub struct Accumulator {
    min_ms: f64,
    max_ms: f64,
    max_pause_ms: f64,
    /// Interleaved samples from absolute frame `base` on.
    buffer: Vec<f32>,
    base: u64,
    format: FormatGuard,
    /// The stream id of the latest item, given to the utterances.
    stream_id: Option<String>,
    /// (start, end of last speech frame) of the utterance in progress, in frames.
    open: Option<(u64, u64)>,
    /// Non-speech frames since the last speech frame, in frames.
    pause: u64,
    /// End of the last decided frame seen (frames must come in order).
    decided: u64,
    /// The frame the VAD's positions count from: 0, or where a remote VAD reconnected.
    origin: u64,
}

impl Accumulator {
    fn from_params(p: Params<'_>) -> Result<Self, ParamError> {
        let min_ms = p.f64("min_utterance_duration_ms");
        let max_ms = p.f64("max_utterance_duration_ms");
        if min_ms < 0.0 || max_ms <= 0.0 || min_ms > max_ms {
            return Err(ParamError::new(
                "max_utterance_duration_ms",
                format!("need 0 <= min ({min_ms}) <= max ({max_ms})"),
            ));
        }
        Ok(Accumulator {
            min_ms,
            max_ms,
            max_pause_ms: p.f64("max_pause_ms").max(0.0),
            buffer: Vec::new(),
            base: 0,
            format: FormatGuard::default(),
            stream_id: None,
            open: None,
            pause: 0,
            decided: 0,
            origin: 0,
        })
    }

    fn ms_to_frames(&self, ms: f64) -> u64 {
        let rate = self.format.fixed().map_or(16_000, |f| f.sample_rate);
        (ms * f64::from(rate) / 1000.0).round() as u64
    }

    fn emit(&mut self, (start, end): (u64, u64), out: &mut Vec<RuntimeData>) {
        let Some(format) = self.format.fixed() else {
            return;
        };
        let (rate, channels, stream_id) =
            (format.sample_rate, format.channels, self.stream_id.clone());
        if end <= start || end - start < self.ms_to_frames(self.min_ms) {
            return;
        }
        let ch = u64::from(channels);
        let to = ((end.saturating_sub(self.base) * ch) as usize).min(self.buffer.len());
        let from = ((start.max(self.base) - self.base) * ch) as usize;
        let from = from.min(to);
        let mut audio = AudioBuffer::new(self.buffer[from..to].to_vec(), rate, channels);
        audio.stream_id = stream_id;
        audio.timestamp_us = Some(start * 1_000_000 / u64::from(rate));
        audio.metadata.insert(
            "utterance".into(),
            json!({
                "start_s": start as f64 / f64::from(rate),
                "end_s": end as f64 / f64::from(rate),
                "duration_ms": crate::data::frames_to_ms(end - start, f64::from(rate)),
            }),
        );
        out.push(RuntimeData::Audio(audio));
    }
}

impl Node for Accumulator {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "AudioBufferAccumulatorNode")?;
        if audio.samples.is_empty() && !audio.metadata.contains_key("vad") {
            return Ok(());
        }
        self.format.check(&audio, "AudioBufferAccumulatorNode")?;
        self.stream_id = audio.stream_id.clone();
        let ch = self
            .format
            .fixed()
            .map_or(1, |f| u64::from(f.channels.max(1)));
        let received_before = self.base + self.buffer.len() as u64 / ch;
        let decisions = DecidedFrame::read_all(
            &audio,
            "AudioBufferAccumulatorNode",
            &mut self.origin,
            received_before,
        )?;
        self.buffer.extend_from_slice(&audio.samples);
        let received = self.base + self.buffer.len() as u64 / ch;
        self.decided = DecidedFrame::check_order(&decisions, self.decided, received)?;
        let max_len = self.ms_to_frames(self.max_ms);
        let max_pause = self.ms_to_frames(self.max_pause_ms);
        let mut decided_to = self.base;
        for DecidedFrame {
            start,
            end,
            is_speech: speech,
            ..
        } in decisions
        {
            decided_to = end;
            if speech {
                let (s, _) = self.open.unwrap_or((start, end));
                self.open = Some((s, end));
                self.pause = 0;
                if end - s >= max_len {
                    self.emit((s, end), out);
                    self.open = None;
                }
            } else if let Some(span) = self.open {
                self.pause += end - start;
                if self.pause >= max_pause {
                    self.emit(span, out);
                    self.open = None;
                }
            }
        }
        // Drop samples no open utterance and no undecided frame needs.
        let keep_from = self
            .open
            .map(|(s, _)| s)
            .unwrap_or(decided_to)
            .max(self.base);
        let ch = self.format.fixed().map_or(1, |f| u64::from(f.channels));
        let drop = (((keep_from - self.base) * ch) as usize).min(self.buffer.len());
        self.buffer.drain(..drop);
        self.base = keep_from;
        Ok(())
    }

    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        if let Some(span) = self.open.take() {
            self.emit(span, out);
        }
        Ok(())
    }
}
