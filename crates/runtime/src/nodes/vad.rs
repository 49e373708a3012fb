//! `VoiceActivityDetector`: per-frame speech decisions and speech segments.
//!
//! Speech probability comes from earshot (a small neural VAD, 256-sample frames at
//! 16 kHz). Decisions are made on a fixed grid of `frame_duration_ms` frames from
//! the start of the stream: a frame's score is the overlap-weighted mean of the
//! earshot scores covering it, and it is speech when the score reaches
//! `speech_threshold` and its RMS reaches `energy_threshold`. The grid and the
//! detector state carry across items, so chunking does not change the decisions.
//! A last partial frame (shorter than one frame) is not decided.
//! Speech probability is delayed by earshot's 48 ms look-back, so segment ends
//! can trail the end of speech by a frame or two.
//!
//! Output: the input audio, unchanged, with `metadata.vad`:
//! `{frame_duration_ms, frames: [{start_sample, end_sample, start_s, end_s, score,
//! rms, is_speech}] (when include_metadata), segments: [{start_s, end_s}]}`.
//! Segments are reported in the item during which they end; the end of the
//! stream ends an open segment.

use earshot::Detector;
use serde_json::{json, Value};

use crate::data::{AudioBuffer, RuntimeData};
use crate::node::NodeFactory;
use crate::node::{finish_marking_last, Node, NodeFailure};
use crate::nodes::audio_basic::remix;
use crate::nodes::expect_audio;
use crate::nodes::stream::FormatGuard;
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::{field, optional, Shape};

/// The only sample rate earshot supports, in Hz.
pub const VAD_RATE: u32 = 16_000;
/// earshot's frame, in samples (16 ms).
const EARSHOT_FRAME: usize = 256;

/// One decided frame (`include_frames`): samples and seconds of stream time.
pub(crate) const VAD_FRAME: Shape = Shape::Object(&[
    field("start_sample", Shape::Number),
    field("end_sample", Shape::Number),
    field("start_s", Shape::Number),
    field("end_s", Shape::Number),
    field("score", Shape::Number),
    field("rms", Shape::Number),
    field("is_speech", Shape::Bool),
]);

/// A speech segment, in seconds of stream time.
pub(crate) const VAD_SEGMENT: Shape = Shape::Object(&[
    field("start_s", Shape::Number),
    field("end_s", Shape::Number),
]);

/// The `vad` annotation of this node's audio.
const VAD_ANNOTATION: Shape = Shape::Object(&[
    field("frame_duration_ms", Shape::Number),
    field("segments", Shape::Array(&VAD_SEGMENT)),
    field("speech_frames", Shape::Number),
    field("total_frames", Shape::Number),
    optional("frames", Shape::Array(&VAD_FRAME)),
]);

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "VoiceActivityDetector",
        aliases: &["VoiceActivityDetectorNode", "VADNode"],
        summary: "16 kHz audio -> the same audio with per-frame speech decisions and segments",
        params: const {
            &[
                ParamSpec::optional("frame_duration_ms", ParamKind::Number)
                    .default(ParamDefault::Number(30.0))
                    .doc("Decision frame, in ms (5 to 1000, a whole number of samples at 16 kHz)."),
                ParamSpec::optional("energy_threshold", ParamKind::Number)
                    .default(ParamDefault::Number(0.001))
                    .doc("Minimum frame RMS (linear, full scale 1.0) to count as speech."),
                ParamSpec::optional("speech_threshold", ParamKind::Number)
                    .default(ParamDefault::Number(0.5))
                    .doc("Minimum speech probability (0 to 1) to count as speech."),
                ParamSpec::optional("include_metadata", ParamKind::Bool)
                    .default(ParamDefault::Bool(true))
                    .doc("Attach the per-frame decisions (`metadata.vad.frames`), which `AudioBufferAccumulatorNode` needs."),
            ]
        },
        output: const { Shape::Audio(&[field("vad", VAD_ANNOTATION)]) },
        create: |p| Ok(Box::new(Vad::from_params(p)?)),
    }]
}

/// One decided frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameDecision {
    /// First sample (absolute, from the stream start).
    pub start_sample: u64,
    /// One past the last sample.
    pub end_sample: u64,
    /// Speech probability, 0..1 (earshot's mean over the frame, or Silero's).
    pub score: f32,
    /// RMS of the frame (linear, full scale 1.0).
    pub rms: f32,
    /// The decision.
    pub is_speech: bool,
}

impl FrameDecision {
    /// The frame as `metadata.vad.frames` holds it, its times at `rate` Hz.
    pub(crate) fn to_json(self, rate: u32) -> Value {
        json!({
            "start_sample": self.start_sample,
            "end_sample": self.end_sample,
            "start_s": self.start_sample as f64 / f64::from(rate),
            "end_s": self.end_sample as f64 / f64::from(rate),
            "score": (f64::from(self.score) * 1000.0).round() / 1000.0,
            "rms": (f64::from(self.rms) * 100000.0).round() / 100000.0,
            "is_speech": self.is_speech,
        })
    }
}

/// A frame decision as a later node reads it back from `metadata.vad.frames`
/// (`AudioBufferAccumulatorNode`, `SpeechEventsNode`): frames from the stream start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecidedFrame {
    pub start: u64,
    pub end: u64,
    pub is_speech: bool,
    /// 0 when the metadata has none.
    pub score: f64,
    /// 0 when the metadata has none.
    pub rms: f64,
}

impl DecidedFrame {
    /// The frames attached to `audio`, as positions in the reading node's input.
    /// `origin` is where the VAD's positions count from there: it moves to
    /// `received_before` (the frames the node had before `audio`) when a remote VAD
    /// reconnected at `audio` ([`crate::remote::RESTART_KEY`]: its positions start again
    /// at 0). Errors, naming `node`, when there are none (the audio is not from a VAD with
    /// `include_metadata: true`) or one is malformed.
    pub(crate) fn read_all(
        audio: &AudioBuffer,
        node: &str,
        origin: &mut u64,
        received_before: u64,
    ) -> Result<Vec<DecidedFrame>, NodeFailure> {
        if audio.metadata.get(crate::remote::RESTART_KEY) == Some(&Value::Bool(true)) {
            *origin = received_before;
        }
        let origin = *origin;
        let frames = audio
            .metadata
            .get("vad")
            .and_then(|v| v.get("frames"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                NodeFailure::new(format!(
                    "{node} needs audio from a VoiceActivityDetector or SileroVADNode with include_metadata: true"
                ))
            })?;
        let at = |f: &Value, key: &str| f.get(key)?.as_u64()?.checked_add(origin);
        frames
            .iter()
            .map(|f| {
                Some(DecidedFrame {
                    start: at(f, "start_sample")?,
                    end: at(f, "end_sample")?,
                    is_speech: f.get("is_speech")?.as_bool()?,
                    score: f.get("score").and_then(Value::as_f64).unwrap_or(0.0),
                    rms: f.get("rms").and_then(Value::as_f64).unwrap_or(0.0),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| NodeFailure::new("malformed vad.frames metadata"))
    }

    /// Checks that `frames` are in order, non-empty, after frame `after` and within the
    /// `received` frames (metadata is input too: a crafted one must not index outside a
    /// buffer); returns the end of the last one (`after` if there are none).
    pub(crate) fn check_order(
        frames: &[DecidedFrame],
        after: u64,
        received: u64,
    ) -> Result<u64, NodeFailure> {
        let mut decided = after;
        for f in frames {
            if f.start >= f.end || f.start < decided || f.end > received {
                return Err(NodeFailure::new(format!(
                    "vad.frames metadata is inconsistent: frame {}..{} (frames must be in order, non-empty, after {decided} and within the {received} frames received)",
                    f.start, f.end
                )));
            }
            decided = f.end;
        }
        Ok(decided)
    }
}

/// The streaming detector state.
pub struct Vad {
    frame: usize,
    energy_threshold: f32,
    speech_threshold: f32,
    include_frames: bool,
    detector: Box<Detector>,
    /// Mono samples from absolute index `base` on.
    mono: Vec<f32>,
    base: u64,
    /// Absolute index up to which earshot has scored.
    scored_to: u64,
    /// earshot scores of its frames from index `score_base` on.
    scores: Vec<f32>,
    score_base: u64,
    /// Next decision frame index.
    next_frame: u64,
    /// Start sample of the segment in progress.
    open_segment: Option<u64>,
    /// End sample of the last speech frame.
    last_speech_end: u64,
    format: FormatGuard,
}

impl Vad {
    fn from_params(p: Params<'_>) -> Result<Self, ParamError> {
        let ms = p.f64("frame_duration_ms");
        let frame = ms * f64::from(VAD_RATE) / 1000.0;
        if !(5.0..=1000.0).contains(&ms) || frame.fract() != 0.0 {
            return Err(ParamError::new(
                "frame_duration_ms",
                format!("must be 5 to 1000 ms and a whole number of samples at 16 kHz, got {ms}"),
            ));
        }
        let speech_threshold = p.f64("speech_threshold");
        if !(0.0..=1.0).contains(&speech_threshold) {
            return Err(ParamError::new("speech_threshold", "must be from 0 to 1"));
        }
        let energy_threshold = p.f64("energy_threshold");
        if energy_threshold < 0.0 {
            return Err(ParamError::new(
                "energy_threshold",
                "must be >= 0 (linear RMS)",
            ));
        }
        Ok(Vad {
            frame: frame as usize,
            energy_threshold: energy_threshold as f32,
            speech_threshold: speech_threshold as f32,
            include_frames: p.bool("include_metadata"),
            detector: Detector::default_boxed(),
            mono: Vec::new(),
            base: 0,
            scored_to: 0,
            scores: Vec::new(),
            score_base: 0,
            next_frame: 0,
            open_segment: None,
            last_speech_end: 0,
            format: FormatGuard::default(),
        })
    }

    /// Feeds mono samples; returns the frames decided and segments ended. At the
    /// end of the stream earshot's last partial block is zero-padded so that every
    /// full decision frame is decided.
    fn feed(
        &mut self,
        samples: &[f32],
        end_of_stream: bool,
    ) -> (Vec<FrameDecision>, Vec<(u64, u64)>) {
        // In pieces, so the buffer of undecided samples stays a few frames long however
        // long the item (an hour of audio is one item in a batch run); the result is the
        // same as one call, since all state carries across calls.
        const PIECE: usize = 64 * EARSHOT_FRAME;
        if samples.len() <= PIECE {
            return self.feed_piece(samples, end_of_stream);
        }
        let (mut decided, mut ended) = (Vec::new(), Vec::new());
        let mut pieces = samples.chunks(PIECE).peekable();
        while let Some(piece) = pieces.next() {
            let (d, e) = self.feed_piece(piece, end_of_stream && pieces.peek().is_none());
            decided.extend(d);
            ended.extend(e);
        }
        (decided, ended)
    }

    fn feed_piece(
        &mut self,
        samples: &[f32],
        end_of_stream: bool,
    ) -> (Vec<FrameDecision>, Vec<(u64, u64)>) {
        self.mono.extend_from_slice(samples);
        let real_end = self.base + self.mono.len() as u64;
        if end_of_stream {
            let padded = real_end.div_ceil(EARSHOT_FRAME as u64) * EARSHOT_FRAME as u64;
            self.mono.resize((padded - self.base) as usize, 0.0);
        }
        let available = self.base + self.mono.len() as u64;
        let mut block = [0f32; EARSHOT_FRAME];
        while self.scored_to + EARSHOT_FRAME as u64 <= available {
            let off = (self.scored_to - self.base) as usize;
            for (dst, &src) in block.iter_mut().zip(&self.mono[off..off + EARSHOT_FRAME]) {
                // earshot expects [-1, 1] (it asserts so); resampler ringing can overshoot
                // slightly, and NaN is no sample at all (clamp keeps NaN).
                *dst = if src.is_nan() {
                    0.0
                } else {
                    src.clamp(-1.0, 1.0)
                };
            }
            self.scores.push(self.detector.predict_f32(&block));
            self.scored_to += EARSHOT_FRAME as u64;
        }
        let frame = self.frame as u64;
        let mut decided = Vec::new();
        let mut ended = Vec::new();
        while (self.next_frame + 1) * frame <= self.scored_to.min(real_end) {
            let start = self.next_frame * frame;
            let end = start + frame;
            let d = self.decide(start, end);
            match (d.is_speech, self.open_segment) {
                (true, None) => self.open_segment = Some(start),
                (false, Some(s)) => {
                    ended.push((s, self.last_speech_end));
                    self.open_segment = None;
                }
                _ => {}
            }
            if d.is_speech {
                self.last_speech_end = end;
            }
            decided.push(d);
            self.next_frame += 1;
        }
        // Keep only what undecided frames and earshot still need.
        let keep_from = self.next_frame * frame;
        let drop = (keep_from - self.base) as usize;
        self.mono.drain(..drop.min(self.mono.len()));
        self.base = keep_from;
        let first_needed = keep_from / EARSHOT_FRAME as u64;
        let drop_scores = first_needed.saturating_sub(self.score_base) as usize;
        self.scores.drain(..drop_scores.min(self.scores.len()));
        self.score_base += drop_scores as u64;
        (decided, ended)
    }

    fn decide(&self, start: u64, end: u64) -> FrameDecision {
        let samples = &self.mono[(start - self.base) as usize..(end - self.base) as usize];
        let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
        let e = EARSHOT_FRAME as u64;
        let (mut weighted, mut total) = (0f32, 0f32);
        for j in start / e..end.div_ceil(e) {
            let overlap = (end.min((j + 1) * e) - start.max(j * e)) as f32;
            weighted += overlap * self.scores[(j - self.score_base) as usize];
            total += overlap;
        }
        let score = weighted / total;
        FrameDecision {
            start_sample: start,
            end_sample: end,
            score,
            rms,
            is_speech: score >= self.speech_threshold && rms >= self.energy_threshold,
        }
    }

    fn annotate(&self, audio: &mut AudioBuffer, frames: &[FrameDecision], segments: &[(u64, u64)]) {
        let rate = f64::from(VAD_RATE);
        let mut vad = json!({
            "frame_duration_ms": crate::data::frames_to_ms(self.frame as u64, rate),
            "segments": segments
                .iter()
                .map(|&(s, e)| json!({"start_s": s as f64 / rate, "end_s": e as f64 / rate}))
                .collect::<Vec<_>>(),
            "speech_frames": frames.iter().filter(|f| f.is_speech).count(),
            "total_frames": frames.len(),
        });
        if self.include_frames {
            vad["frames"] = frames.iter().map(|f| f.to_json(VAD_RATE)).collect();
        }
        audio.metadata.insert("vad".into(), vad);
    }

    fn check_format(&mut self, audio: &AudioBuffer) -> Result<(), NodeFailure> {
        if audio.sample_rate != VAD_RATE {
            return Err(NodeFailure::new(format!(
                "VoiceActivityDetector needs {VAD_RATE} Hz audio, got {} Hz; put a FastResampleNode with target_rate {VAD_RATE} before it",
                audio.sample_rate
            )));
        }
        self.format
            .check(audio, "VoiceActivityDetector")
            .map(|_| ())
    }

    /// Ends the open segment, if any.
    fn close_segment(&mut self) -> Option<(u64, u64)> {
        self.open_segment.take().map(|s| (s, self.last_speech_end))
    }

    fn step(
        &mut self,
        item: RuntimeData,
        last: bool,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let mut audio = expect_audio(item, "VoiceActivityDetector")?;
        self.check_format(&audio)?;
        // Mono input is read in place: no copy of a long item.
        let (frames, mut segments) = if audio.channels == 1 {
            self.feed(&audio.samples, last)
        } else {
            self.feed(&remix(&audio.samples, usize::from(audio.channels), 1), last)
        };
        if last {
            segments.extend(self.close_segment());
        }
        self.annotate(&mut audio, &frames, &segments);
        out.push(RuntimeData::Audio(audio));
        Ok(())
    }
}

impl Node for Vad {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        self.step(input, false, out)
    }

    /// At the end of a stream the last frames and an open segment are reported in
    /// an empty audio item.
    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        let Some(format) = self.format.fixed() else {
            return Ok(());
        };
        let (frames, mut segments) = self.feed(&[], true);
        segments.extend(self.close_segment());
        if !frames.is_empty() || !segments.is_empty() {
            let mut audio = AudioBuffer::new(Vec::new(), format.sample_rate, format.channels);
            self.annotate(&mut audio, &frames, &segments);
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
}
