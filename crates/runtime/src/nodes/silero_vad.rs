//! `SileroVADNode`: speech detection that holds up in noise, with Silero VAD v6
//! (snakers4/silero-vad, MIT; the network is [`crate::models::silero`]).
//!
//! The node's name, parameters and defaults are the original RemoteMedia SDK's. The
//! audio is cut into 32 ms windows (512 samples at 16 kHz, 256 at 8 kHz) on a grid from
//! the stream's start; the network's state and the window's context carry across items,
//! so chunking changes nothing. Each window's speech probability is decided with
//! hysteresis, and speech segments follow Silero's own `get_speech_timestamps`:
//!
//! - a window with probability >= `threshold` starts speech (at the window's start);
//! - in speech, a window under `neg_threshold` (default `threshold - 0.15`) starts a
//!   silence at its start, and one >= `threshold` cancels it; a silence that lasts
//!   `min_silence_duration_ms` ends the speech where the silence began;
//! - speech shorter than `min_speech_duration_ms` is dropped; the others become segments
//!   padded by `speech_pad_ms` on each side (clamped to the stream, and so that a segment
//!   starts no earlier than the previous one ends: upstream splits a gap shorter than
//!   two pads instead, which the defaults never meet);
//! - the end of the stream ends open speech there. The last partial window is
//!   zero-padded, as upstream does.
//!
//! Output: the input audio, unchanged, with `metadata.vad` in `VoiceActivityDetector`'s
//! shape (`frames` are the windows: `score` is the probability and `is_speech` the
//! hysteresis decision), so `AudioBufferAccumulatorNode` and `SpeechEventsNode` read
//! either node. With `emit_events`, each input item is first answered with the
//! original's JSON event: `{has_speech, speech_probability, is_speech_start,
//! is_speech_end, timestamp_ms, rms, peak, samples, sample_rate}`.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::data::{AudioBuffer, RuntimeData};
use crate::models::silero::{SileroState, SileroVad as Network};
use crate::models::store;
use crate::node::NodeFactory;
use crate::node::{finish_marking_last, Node, NodeFailure};
use crate::nodes::audio_basic::remix;
use crate::nodes::expect_audio;
use crate::nodes::stream::FormatGuard;
use crate::nodes::vad::{FrameDecision, VAD_FRAME, VAD_SEGMENT};
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::{field, optional, Shape};

const NODE: &str = "SileroVADNode";

const PARAMS: &[ParamSpec] = &[
    ParamSpec::optional("threshold", ParamKind::Number)
        .default(ParamDefault::Number(0.5))
        .doc("Speech probability (0 to 1) at which speech starts."),
    ParamSpec::optional("neg_threshold", ParamKind::Number)
        .aliases(&["negThreshold"])
        .doc("Probability (0 to `threshold`) under which speech may end (hysteresis); left out: `threshold - 0.15`, at least 0."),
    ParamSpec::optional("sampling_rate", ParamKind::Number)
        .aliases(&["samplingRate", "sample_rate"])
        .default(ParamDefault::Number(16000.0))
        .doc("The input's sample rate: 16000 or 8000 Hz (put a FastResampleNode before the node for others)."),
    ParamSpec::optional("min_speech_duration_ms", ParamKind::Number)
        .aliases(&["minSpeechDurationMs"])
        .default(ParamDefault::Number(250.0))
        .doc("Speech shorter than this, in ms, is not a segment."),
    ParamSpec::optional("min_silence_duration_ms", ParamKind::Number)
        .aliases(&["minSilenceDurationMs"])
        .default(ParamDefault::Number(100.0))
        .doc("Silence, in ms, that ends speech."),
    ParamSpec::optional("speech_pad_ms", ParamKind::Number)
        .aliases(&["speechPadMs"])
        .default(ParamDefault::Number(30.0))
        .doc("Audio added before and after each segment, in ms."),
    ParamSpec::optional("include_metadata", ParamKind::Bool)
        .default(ParamDefault::Bool(true))
        .doc("Attach the per-window decisions (`metadata.vad.frames`), which `AudioBufferAccumulatorNode` and `SpeechEventsNode` need."),
    ParamSpec::optional("emit_events", ParamKind::Bool)
        .default(ParamDefault::Bool(false))
        .doc("Before each audio item, emit the original SDK's JSON event: `{has_speech, speech_probability, is_speech_start, is_speech_end, timestamp_ms, rms, peak, samples, sample_rate}`."),
];

/// The `vad` annotation of this node's audio (the same as `VoiceActivityDetector`'s, and
/// the model's name).
const VAD_ANNOTATION: Shape = Shape::Object(&[
    field("model", Shape::Literal("silero_vad_v6")),
    field("frame_duration_ms", Shape::Number),
    field("segments", Shape::Array(&VAD_SEGMENT)),
    field("speech_frames", Shape::Number),
    field("total_frames", Shape::Number),
    optional("frames", Shape::Array(&VAD_FRAME)),
]);

/// The original SDK's per-item event (`emit_events`).
const EVENT: Shape = Shape::Object(&[
    field("has_speech", Shape::Bool),
    field(
        "speech_probability",
        Shape::OneOf(&[Shape::Number, Shape::Null]),
    ),
    field("is_speech_start", Shape::Bool),
    field("is_speech_end", Shape::Bool),
    field("timestamp_ms", Shape::Number),
    field("rms", Shape::Number),
    field("peak", Shape::Number),
    field("samples", Shape::Number),
    field("sample_rate", Shape::Number),
]);

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: NODE,
        aliases: &["SileroVAD"],
        summary: "16 or 8 kHz audio -> the same audio with Silero VAD's per-window speech probability, decisions and segments (robust in noise)",
        params: PARAMS,
        output: const { Shape::OneOf(&[Shape::Audio(&[field("vad", VAD_ANNOTATION)]), EVENT]) },
        create: |p| Ok(Box::new(SileroVad::from_params(p)?)),
    }]
}

/// The sample rate parameter `name` of a Silero node: 16000 or 8000 Hz.
pub(crate) fn silero_rate(p: &Params<'_>, name: &str) -> Result<u32, ParamError> {
    match p.f64(name) {
        r if r == 16000.0 || r == 8000.0 => Ok(r as u32),
        r => Err(ParamError::new(
            name,
            format!("Silero VAD runs at 16000 or 8000 Hz, got {r}"),
        )),
    }
}

/// The tunable settings, in samples at the node's rate.
#[derive(Debug, Clone, Copy)]
struct Settings {
    threshold: f32,
    neg_threshold: f32,
    min_speech: u64,
    min_silence: u64,
    pad: u64,
    include_frames: bool,
    emit_events: bool,
}

/// A probability parameter's value `v`, checked to be from 0 to 1.
pub(crate) fn probability(name: &str, v: f64) -> Result<f32, ParamError> {
    if (0.0..=1.0).contains(&v) {
        Ok(v as f32)
    } else {
        Err(ParamError::new(
            name,
            format!("must be from 0 to 1, got {v}"),
        ))
    }
}

/// The duration parameter `name` (ms, 0 to `max_ms`) in samples at `rate` Hz.
pub(crate) fn duration_samples(
    p: &Params<'_>,
    name: &str,
    rate: u32,
    max_ms: f64,
) -> Result<u64, ParamError> {
    let ms = p.f64(name);
    if ms.is_finite() && (0.0..=max_ms).contains(&ms) {
        Ok((ms * f64::from(rate) / 1000.0).round() as u64)
    } else {
        Err(ParamError::new(
            name,
            format!("must be 0 to {max_ms} ms, got {ms}"),
        ))
    }
}

/// The hysteresis floor when none is given: `threshold - 0.15`, at least 0 (the original's).
fn default_neg_threshold(threshold: f32) -> f32 {
    (threshold - 0.15).max(0.0)
}

impl Settings {
    fn from_params(p: &Params<'_>, rate: u32) -> Result<Self, ParamError> {
        let threshold = probability("threshold", p.f64("threshold"))?;
        let neg_threshold = match p.get("neg_threshold").and_then(Value::as_f64) {
            Some(v) => probability("neg_threshold", v)?,
            None => default_neg_threshold(threshold),
        };
        if neg_threshold > threshold {
            return Err(ParamError::new(
                "neg_threshold",
                format!("must not exceed threshold ({threshold}), got {neg_threshold}"),
            ));
        }
        Ok(Settings {
            threshold,
            neg_threshold,
            min_speech: duration_samples(p, "min_speech_duration_ms", rate, 60_000.0)?,
            min_silence: duration_samples(p, "min_silence_duration_ms", rate, 60_000.0)?,
            pad: duration_samples(p, "speech_pad_ms", rate, 10_000.0)?,
            include_frames: p.bool("include_metadata"),
            emit_events: p.bool("emit_events"),
        })
    }
}

/// Speech in progress (sample indices from the stream's start).
#[derive(Debug, Clone, Copy)]
struct Speech {
    start: u64,
    /// Where the current silence began, if one has.
    silence_from: Option<u64>,
}

/// What one call decided.
#[derive(Default)]
struct Decided {
    frames: Vec<FrameDecision>,
    /// Padded segments, as sample ranges.
    segments: Vec<(u64, u64)>,
    speech_started: bool,
    speech_ended: bool,
}

/// The node's state.
pub struct SileroVad {
    rate: u32,
    settings: Settings,
    /// Read from the model store on the first item.
    network: Option<(Arc<Network>, SileroState)>,
    /// Samples after the last whole window (fewer than a window).
    pending: Vec<f32>,
    /// Samples before `pending`: windows decided so far times the window.
    windowed: u64,
    speech: Option<Speech>,
    /// End of the last reported segment (padded).
    reported_to: u64,
    format: FormatGuard,
}

impl SileroVad {
    /// A detector at `rate` (16000 or 8000 Hz) that reports every speech run, unpadded,
    /// however short: for nodes that judge segments themselves
    /// (`SpeculativeVADCoordinator`).
    pub(crate) fn raw(rate: u32, threshold: f32, min_silence: u64) -> Self {
        SileroVad::new(
            rate,
            Settings {
                threshold,
                neg_threshold: default_neg_threshold(threshold),
                min_speech: 0,
                min_silence,
                pad: 0,
                include_frames: false,
                emit_events: false,
            },
        )
    }

    fn new(rate: u32, settings: Settings) -> Self {
        SileroVad {
            rate,
            settings,
            network: None,
            pending: Vec::new(),
            windowed: 0,
            speech: None,
            reported_to: 0,
            format: FormatGuard::default(),
        }
    }

    /// The sample rate it runs at, in Hz.
    pub(crate) fn rate(&self) -> u32 {
        self.rate
    }

    /// Feeds mono samples at the detector's rate; the speech runs that ended, as sample
    /// ranges from the stream's start (see [`SileroVad::raw`]).
    pub(crate) fn speech_runs(
        &mut self,
        samples: &[f32],
        end_of_stream: bool,
    ) -> Result<Vec<(u64, u64)>, NodeFailure> {
        Ok(self.feed(samples, end_of_stream)?.segments)
    }

    fn from_params(p: Params<'_>) -> Result<Self, ParamError> {
        let rate = silero_rate(&p, "sampling_rate")?;
        Ok(SileroVad::new(rate, Settings::from_params(&p, rate)?))
    }

    fn network(&mut self) -> Result<(&Network, &mut SileroState), NodeFailure> {
        let slot = match self.network.take() {
            Some(slot) => slot,
            None => {
                let net = store::silero(self.rate)
                    .map_err(|e| NodeFailure::new(format!("{NODE}: {e}")))?;
                let state = net.state();
                (net, state)
            }
        };
        let (net, state) = self.network.insert(slot);
        Ok((&**net, state))
    }

    /// Feeds mono samples; at the end of the stream, also the zero-padded last window and
    /// the end of open speech.
    fn feed(&mut self, samples: &[f32], end_of_stream: bool) -> Result<Decided, NodeFailure> {
        let window = self.rate as usize * 32 / 1000;
        let mut decided = Decided::default();
        let mut rest = samples;
        // Complete the pending window first, then whole windows straight from the input.
        if !self.pending.is_empty() {
            let take = (window - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == window {
                let w = std::mem::take(&mut self.pending);
                self.window(&w, window as u64, &mut decided)?;
            }
        }
        let mut windows = rest.chunks_exact(window);
        for w in windows.by_ref() {
            self.window(w, window as u64, &mut decided)?;
        }
        self.pending.extend_from_slice(windows.remainder());
        if end_of_stream {
            let stream_end = self.windowed + self.pending.len() as u64;
            if !self.pending.is_empty() {
                let mut w = std::mem::take(&mut self.pending);
                w.resize(window, 0.0);
                self.window(&w, stream_end - self.windowed, &mut decided)?;
            }
            if let Some(speech) = self.speech.take() {
                decided.speech_ended = true;
                self.segment(speech.start, stream_end, stream_end, &mut decided);
            }
        }
        Ok(decided)
    }

    /// Decides one window of which the first `real` samples are the stream's.
    fn window(&mut self, w: &[f32], real: u64, decided: &mut Decided) -> Result<(), NodeFailure> {
        let start = self.windowed;
        let (net, state) = self.network()?;
        let p = net
            .probability(state, w)
            .map_err(|e| NodeFailure::new(format!("{NODE}: {e}")))?;
        self.windowed += real;
        let s = self.settings;
        let in_speech = self.speech.is_some();
        match &mut self.speech {
            None if p >= s.threshold => {
                self.speech = Some(Speech {
                    start,
                    silence_from: None,
                });
                decided.speech_started = true;
            }
            Some(speech) if p >= s.threshold => speech.silence_from = None,
            Some(speech) if p < s.neg_threshold => {
                let from = *speech.silence_from.get_or_insert(start);
                if start - from >= s.min_silence {
                    let speech_start = speech.start;
                    self.speech = None;
                    decided.speech_ended = true;
                    self.segment(speech_start, from, self.windowed, decided);
                }
            }
            _ => {}
        }
        let slice = &w[..real as usize];
        let rms = (slice
            .iter()
            .map(|x| if x.is_finite() { x * x } else { 0.0 })
            .sum::<f32>()
            / slice.len().max(1) as f32)
            .sqrt();
        decided.frames.push(FrameDecision {
            start_sample: start,
            end_sample: self.windowed,
            score: p,
            rms,
            is_speech: p >= s.threshold || (in_speech && p >= s.neg_threshold),
        });
        Ok(())
    }

    /// Reports speech `start..end` as a padded segment, unless it is too short; `limit` is
    /// the stream's length so far (padding stops there).
    fn segment(&mut self, start: u64, end: u64, limit: u64, decided: &mut Decided) {
        let s = self.settings;
        if end - start <= s.min_speech {
            return;
        }
        let from = start.saturating_sub(s.pad).max(self.reported_to);
        let to = (end + s.pad).min(limit);
        self.reported_to = to;
        decided.segments.push((from, to));
    }

    fn annotate(&self, audio: &mut AudioBuffer, d: &Decided) {
        let rate = f64::from(self.rate);
        let mut vad = json!({
            "model": "silero_vad_v6",
            "frame_duration_ms": 32.0,
            "segments": d.segments
                .iter()
                .map(|&(s, e)| json!({"start_s": s as f64 / rate, "end_s": e as f64 / rate}))
                .collect::<Vec<_>>(),
            "speech_frames": d.frames.iter().filter(|f| f.is_speech).count(),
            "total_frames": d.frames.len(),
        });
        if self.settings.include_frames {
            vad["frames"] = d.frames.iter().map(|f| f.to_json(self.rate)).collect();
        }
        audio.metadata.insert("vad".into(), vad);
    }

    /// The original SDK's event for one item: `has_speech` (a window reached
    /// `threshold`), `speech_probability` (the item's highest window probability; null
    /// when no window ended in it), `is_speech_start` / `is_speech_end` (speech began /
    /// ended in it), `timestamp_ms` (stream time at its end), and its mono samples'
    /// `rms` and `peak` (linear), `samples` and `sample_rate`.
    fn event(&self, mono: &[f32], d: &Decided) -> Value {
        let highest = d
            .frames
            .iter()
            .map(|f| f.score)
            .fold(None, |m: Option<f32>, p| Some(m.map_or(p, |m| m.max(p))));
        let finite = mono.iter().filter(|x| x.is_finite());
        let sum_sq: f64 = finite.clone().map(|&x| f64::from(x) * f64::from(x)).sum();
        let peak = finite.fold(0f32, |m, x| m.max(x.abs()));
        let received = self.windowed + self.pending.len() as u64;
        json!({
            "has_speech": highest.is_some_and(|p| p >= self.settings.threshold),
            "speech_probability": highest,
            "is_speech_start": d.speech_started,
            "is_speech_end": d.speech_ended,
            "timestamp_ms": received.saturating_mul(1000) / u64::from(self.rate),
            "rms": if mono.is_empty() { 0.0 } else { (sum_sq / mono.len() as f64).sqrt() },
            "peak": peak,
            "samples": mono.len(),
            "sample_rate": self.rate,
        })
    }

    fn step(
        &mut self,
        item: RuntimeData,
        last: bool,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let mut audio = expect_audio(item, NODE)?;
        if audio.sample_rate != self.rate {
            return Err(NodeFailure::new(format!(
                "{NODE} has sampling_rate {} and got {} Hz audio; put a FastResampleNode with target_rate {} before it (or set sampling_rate to 8000 for 8 kHz audio)",
                self.rate, audio.sample_rate, self.rate
            )));
        }
        self.format.check(&audio, NODE)?;
        let remixed;
        let mono: &[f32] = if audio.channels == 1 {
            &audio.samples
        } else {
            remixed = remix(&audio.samples, usize::from(audio.channels), 1);
            &remixed
        };
        let decided = self.feed(mono, last)?;
        if self.settings.emit_events {
            out.push(RuntimeData::Json(self.event(mono, &decided)));
        }
        self.annotate(&mut audio, &decided);
        out.push(RuntimeData::Audio(audio));
        Ok(())
    }
}

impl Node for SileroVad {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        self.step(input, false, out)
    }

    /// At the end of a stream the last window and open speech are reported in an empty
    /// audio item.
    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        let Some(format) = self.format.fixed() else {
            return Ok(());
        };
        let decided = self.feed(&[], true)?;
        if !decided.frames.is_empty() || !decided.segments.is_empty() {
            if self.settings.emit_events {
                out.push(RuntimeData::Json(self.event(&[], &decided)));
            }
            let mut audio = AudioBuffer::new(Vec::new(), format.sample_rate, format.channels);
            self.annotate(&mut audio, &decided);
            out.push(RuntimeData::Audio(audio));
        }
        Ok(())
    }

    fn finish(
        &mut self,
        items: Vec<RuntimeData>,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        finish_marking_last(self, items, out, Self::step)
    }

    /// Thresholds, lengths and outputs change at once; the sample rate cannot.
    fn reconfigure(&mut self, params: Params<'_>) -> Result<(), ParamError> {
        if params.f64("sampling_rate") != f64::from(self.rate) {
            return Err(ParamError::new(
                "sampling_rate",
                "cannot change while the node runs",
            ));
        }
        self.settings = Settings::from_params(&params, self.rate)?;
        Ok(())
    }
}
