//! `SpeculativeVADCoordinator`: the original SDK's speculative forwarding. Audio goes on
//! at once, without waiting for the detector; Silero VAD runs beside it, and when a
//! speech segment turns out shorter than `min_speech_duration_ms` (a false start: a
//! cough, a click), a control item tells the nodes downstream to drop what they were
//! given for it:
//!
//! `{"type": "control", "message_type": "cancel_speculation", "segment_id",
//! "from_timestamp", "to_timestamp" (samples from the stream's start, at the input's
//! rate), "from_s", "to_s", "duration_ms"}`.
//!
//! Segments long enough are accepted silently, as in the original. The node's output is
//! its input audio, unchanged and in order, with the control items after the audio
//! during which their segment ended.

use serde_json::json;

use crate::data::RuntimeData;
use crate::node::NodeFactory;
use crate::node::{finish_marking_last, Node, NodeFailure};
use crate::nodes::audio_basic::remix;
use crate::nodes::silero_vad::{duration_samples, probability, silero_rate, SileroVad};
use crate::nodes::stream::FormatGuard;
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::{field, Shape};

const NODE: &str = "SpeculativeVADCoordinator";

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: NODE,
        aliases: &["SpeculativeVADCoordinatorNode"],
        summary: "16 or 8 kHz audio -> the same audio at once, and a cancel_speculation control item for each speech segment shorter than min_speech_duration_ms (Silero VAD)",
        params: const {
            &[
                ParamSpec::optional("vad_threshold", ParamKind::Number)
                    .aliases(&["vadThreshold"])
                    .default(ParamDefault::Number(0.5))
                    .doc("Speech probability (0 to 1) at which speech starts."),
                ParamSpec::optional("sample_rate", ParamKind::Number)
                    .aliases(&["samplingRate", "sampleRate"])
                    .default(ParamDefault::Number(16000.0))
                    .doc("The input's sample rate: 16000 or 8000 Hz."),
                ParamSpec::optional("min_speech_duration_ms", ParamKind::Number)
                    .aliases(&["minSpeechDurationMs"])
                    .default(ParamDefault::Number(250.0))
                    .doc("A segment shorter than this, in ms, is cancelled."),
                ParamSpec::optional("min_silence_duration_ms", ParamKind::Number)
                    .aliases(&["minSilenceDurationMs"])
                    .default(ParamDefault::Number(100.0))
                    .doc("Silence, in ms, that ends a segment."),
                ParamSpec::optional("lookback_ms", ParamKind::Number)
                    .aliases(&["lookbackMs"])
                    .default(ParamDefault::Number(150.0))
                    .doc("The original's buffer for cancellation; accepted and unused: audio is never held back here."),
                ParamSpec::optional("speech_pad_ms", ParamKind::Number)
                    .aliases(&["speechPadMs"])
                    .default(ParamDefault::Number(30.0))
                    .doc("The original's padding; accepted and unused: cancellations name the segment's own samples."),
            ]
        },
        output: const { Shape::OneOf(&[
            Shape::Audio(&[]),
            Shape::Object(&[
                field("type", Shape::Literal("control")),
                field("message_type", Shape::Literal("cancel_speculation")),
                field("segment_id", Shape::Text),
                field("from_timestamp", Shape::Number),
                field("to_timestamp", Shape::Number),
                field("from_s", Shape::Number),
                field("to_s", Shape::Number),
                field("duration_ms", Shape::Number),
            ]),
        ]) },
        create: |p| Ok(Box::new(Coordinator::from_params(p)?)),
    }]
}

struct Coordinator {
    detector: SileroVad,
    min_speech: u64,
    segments: u64,
    format: FormatGuard,
}

impl Coordinator {
    fn from_params(p: Params<'_>) -> Result<Self, ParamError> {
        let rate = silero_rate(&p, "sample_rate")?;
        let threshold = probability("vad_threshold", p.f64("vad_threshold"))?;
        let min_silence = duration_samples(&p, "min_silence_duration_ms", rate, 60_000.0)?;
        Ok(Coordinator {
            detector: SileroVad::raw(rate, threshold, min_silence),
            min_speech: duration_samples(&p, "min_speech_duration_ms", rate, 60_000.0)?,
            segments: 0,
            format: FormatGuard::default(),
        })
    }

    fn judge(&mut self, runs: Vec<(u64, u64)>, out: &mut Vec<RuntimeData>) {
        for (from, to) in runs {
            let id = self.segments;
            self.segments += 1;
            if to - from >= self.min_speech {
                continue;
            }
            let rate = f64::from(self.detector.rate());
            out.push(RuntimeData::Json(json!({
                "type": "control",
                "message_type": "cancel_speculation",
                "segment_id": format!("segment_{id}"),
                "from_timestamp": from,
                "to_timestamp": to,
                "from_s": from as f64 / rate,
                "to_s": to as f64 / rate,
                "duration_ms": crate::data::frames_to_ms(to - from, rate),
            })));
        }
    }

    fn step(
        &mut self,
        item: RuntimeData,
        last: bool,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = crate::nodes::expect_audio(item, NODE)?;
        let rate = self.detector.rate();
        if audio.sample_rate != rate {
            return Err(NodeFailure::new(format!(
                "{NODE} has sample_rate {rate} and got {} Hz audio; put a FastResampleNode with target_rate {rate} before it",
                audio.sample_rate
            )));
        }
        self.format.check(&audio, NODE)?;
        let runs = if audio.channels == 1 {
            self.detector.speech_runs(&audio.samples, last)?
        } else {
            let mono = remix(&audio.samples, usize::from(audio.channels), 1);
            self.detector.speech_runs(&mono, last)?
        };
        // Speculative: the audio goes on before the detector's verdict on it.
        out.push(RuntimeData::Audio(audio));
        self.judge(runs, out);
        Ok(())
    }
}

impl Node for Coordinator {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        self.step(input, false, out)
    }

    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        if self.format.fixed().is_some() {
            let runs = self.detector.speech_runs(&[], true)?;
            self.judge(runs, out);
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
