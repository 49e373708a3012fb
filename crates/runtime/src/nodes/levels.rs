//! Level meters: `AudioLevelNode`, `SilenceDetectorNode`, `ClippingDetectorNode`.
//! Levels are dBFS (0 dB = full scale 1.0), floored at [`FLOOR_DB`].

use serde_json::json;

use crate::data::RuntimeData;
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::nodes::expect_audio;
use crate::params::{ParamDefault, ParamKind, ParamSpec};
use crate::shape::{field, Shape};

/// The level reported for digital silence, in dBFS (JSON has no -infinity).
pub const FLOOR_DB: f64 = -120.0;

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![
        NodeFactory {
            node_type: "AudioLevelNode",
            aliases: &["AudioLevel"],
            summary: "audio -> {rms_db, peak_db, is_low_volume, is_silence}",
            params: const {
                &[
                    ParamSpec::optional("low_volume_threshold_db", ParamKind::Number)
                        .default(ParamDefault::Number(-20.0))
                        .doc("RMS below this, in dBFS, is low volume."),
                    ParamSpec::optional("silence_threshold_db", ParamKind::Number)
                        .default(ParamDefault::Number(-60.0))
                        .doc("RMS below this, in dBFS, is silence."),
                ]
            },
            output: const {
                Shape::Object(&[
                    field("rms_db", Shape::Number),
                    field("peak_db", Shape::Number),
                    field("is_low_volume", Shape::Bool),
                    field("is_silence", Shape::Bool),
                    field("duration_s", Shape::Number),
                ])
            },
            create: |p| {
                Ok(Box::new(Level {
                    low_db: p.f64("low_volume_threshold_db"),
                    silence_db: p.f64("silence_threshold_db"),
                }))
            },
        },
        NodeFactory {
            node_type: "SilenceDetectorNode",
            aliases: &["SilenceDetector"],
            summary: "audio -> {event: \"silence\"|\"sound\", is_silence, rms_db, duration_ms}",
            params: const {
                &[
                    ParamSpec::optional("silence_threshold_db", ParamKind::Number)
                        .default(ParamDefault::Number(-60.0))
                        .doc("RMS below this, in dBFS, is silence."),
                ]
            },
            output: const {
                Shape::Object(&[
                    field(
                        "event",
                        Shape::OneOf(&[Shape::Literal("silence"), Shape::Literal("sound")]),
                    ),
                    field("is_silence", Shape::Bool),
                    field("rms_db", Shape::Number),
                    field("threshold_db", Shape::Number),
                    field("duration_ms", Shape::Number),
                ])
            },
            create: |p| {
                Ok(Box::new(Silence {
                    threshold_db: p.f64("silence_threshold_db"),
                }))
            },
        },
        NodeFactory {
            node_type: "ClippingDetectorNode",
            aliases: &["ClippingDetector"],
            summary: "audio -> {event, is_clipping, clipped_samples, clipped_ratio, peak}",
            params: const {
                &[
                    ParamSpec::optional("clip_threshold", ParamKind::Number)
                        .default(ParamDefault::Number(0.99))
                        .doc("Absolute sample value counted as clipped (full scale is 1.0)."),
                    ParamSpec::optional("max_clipped_ratio", ParamKind::Number)
                        .default(ParamDefault::Number(0.001))
                        .doc("Fraction of clipped samples above which the item is clipping."),
                ]
            },
            output: const {
                Shape::Object(&[
                    field(
                        "event",
                        Shape::OneOf(&[Shape::Literal("clipping"), Shape::Literal("clean")]),
                    ),
                    field("is_clipping", Shape::Bool),
                    field("clipped_samples", Shape::Number),
                    field("clipped_ratio", Shape::Number),
                    field("peak", Shape::Number),
                ])
            },
            create: |p| {
                Ok(Box::new(Clipping {
                    threshold: p.f64("clip_threshold") as f32,
                    max_ratio: p.f64("max_clipped_ratio"),
                }))
            },
        },
    ]
}

/// RMS and peak of a block, in dBFS.
pub fn levels_db(samples: &[f32]) -> (f64, f64) {
    if samples.is_empty() {
        return (FLOOR_DB, FLOOR_DB);
    }
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (energy / samples.len() as f64).sqrt();
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    (to_db(rms), to_db(f64::from(peak)))
}

/// Linear amplitude to dBFS, floored at [`FLOOR_DB`].
pub fn to_db(amplitude: f64) -> f64 {
    if amplitude <= 0.0 {
        FLOOR_DB
    } else {
        (20.0 * amplitude.log10()).max(FLOOR_DB)
    }
}

/// One level reading per audio item.
pub struct Level {
    low_db: f64,
    silence_db: f64,
}

impl Node for Level {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "AudioLevelNode")?;
        let (rms_db, peak_db) = levels_db(&audio.samples);
        out.push(RuntimeData::Json(json!({
            "rms_db": round2(rms_db),
            "peak_db": round2(peak_db),
            "is_low_volume": rms_db < self.low_db,
            "is_silence": rms_db < self.silence_db,
            "duration_s": audio.duration_s(),
        })));
        Ok(())
    }
}

/// Silence / sound event per audio item.
pub struct Silence {
    threshold_db: f64,
}

impl Node for Silence {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "SilenceDetectorNode")?;
        let (rms_db, _) = levels_db(&audio.samples);
        let silent = rms_db < self.threshold_db;
        out.push(RuntimeData::Json(json!({
            "event": if silent { "silence" } else { "sound" },
            "is_silence": silent,
            "rms_db": round2(rms_db),
            "threshold_db": self.threshold_db,
            "duration_ms": crate::data::seconds_to_ms(audio.duration_s()),
        })));
        Ok(())
    }
}

/// Clipping event per audio item: samples with |x| >= threshold.
pub struct Clipping {
    threshold: f32,
    max_ratio: f64,
}

impl Node for Clipping {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "ClippingDetectorNode")?;
        let clipped = audio
            .samples
            .iter()
            .filter(|s| s.abs() >= self.threshold)
            .count();
        let ratio = clipped as f64 / audio.samples.len().max(1) as f64;
        let peak = audio.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        let clipping = clipped > 0 && ratio > self.max_ratio;
        out.push(RuntimeData::Json(json!({
            "event": if clipping { "clipping" } else { "clean" },
            "is_clipping": clipping,
            "clipped_samples": clipped,
            "clipped_ratio": ratio,
            "peak": peak,
        })));
        Ok(())
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
