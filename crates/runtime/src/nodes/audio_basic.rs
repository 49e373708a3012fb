//! Simple audio nodes: `AudioChunkerNode`, `GainNode`, `FormatConverterNode`, and
//! channel re-mapping (`remix`).

use crate::data::{AudioBuffer, RuntimeData};
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::nodes::expect_audio;
use crate::nodes::stream::FormatGuard;
use crate::params::{ParamDefault, ParamKind, ParamSpec};
use crate::shape::Shape;

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![
        NodeFactory {
            node_type: "AudioChunkerNode",
            aliases: &["AudioChunker"],
            summary: "audio -> chunks of chunk_size frames (default 512); flush emits the rest",
            params: const {
                &[ParamSpec::optional("chunk_size", ParamKind::Count)
                    .default(ParamDefault::Count(512))
                    .doc("Frames per chunk, 1 to the executor's max_frames (default 16777216).")]
            },
            output: const { Shape::Audio(&[]) },
            create: |p| {
                let chunk = p.count_in("chunk_size", 1..=p.limits().max_frames, "frames")?;
                Ok(Box::new(Chunker {
                    chunk_frames: chunk,
                    held: None,
                    format: FormatGuard::default(),
                }))
            },
        },
        NodeFactory {
            node_type: "GainNode",
            aliases: &[],
            summary: "audio -> audio scaled by gain_db (dB)",
            params: const {
                &[ParamSpec::optional("gain_db", ParamKind::Number)
                    .default(ParamDefault::Number(0.0))
                    .doc("Gain in dB (20·log10 of the factor; negative attenuates).")]
            },
            output: const { Shape::Audio(&[]) },
            create: |p| {
                let gain_db = p.f64("gain_db");
                Ok(Box::new(Gain {
                    factor: 10f64.powf(gain_db / 20.0) as f32,
                }))
            },
        },
        NodeFactory {
            node_type: "FormatConverterNode",
            aliases: &["FormatConverter"],
            summary: "audio -> f32 audio, or i16 little-endian PCM bytes (binary)",
            params: const {
                &[
                    ParamSpec::optional("target_format", ParamKind::OneOf(&["f32", "i16"]))
                        .default(ParamDefault::Text("f32"))
                        .doc(
                            "`f32` (float32 audio) or `i16` (little-endian 16-bit PCM as binary).",
                        ),
                ]
            },
            output: const { Shape::OneOf(&[Shape::Audio(&[]), Shape::Binary]) },
            create: |p| {
                Ok(Box::new(FormatConverter {
                    to_i16: p.text("target_format").eq_ignore_ascii_case("i16"),
                }))
            },
        },
    ]
}

/// Cuts audio into chunks of exactly `chunk_frames` frames across item boundaries.
pub struct Chunker {
    chunk_frames: usize,
    held: Option<AudioBuffer>,
    format: FormatGuard,
}

impl Node for Chunker {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "AudioChunkerNode")?;
        self.format.check(&audio, "AudioChunkerNode")?;
        let held = match self.held.take() {
            Some(mut h) => {
                h.samples.extend_from_slice(&audio.samples);
                h
            }
            None => audio,
        };
        let step = self
            .chunk_frames
            .checked_mul(usize::from(held.channels))
            .ok_or("chunk_size times channels is too large")?;
        let mut chunks = held.samples.chunks_exact(step);
        for (k, chunk) in chunks.by_ref().enumerate() {
            let mut piece = held.with_samples(chunk.to_vec(), held.sample_rate, held.channels);
            piece.timestamp_us = held
                .timestamp_us
                .map(|t| t + frames_to_us(k * self.chunk_frames, held.sample_rate));
            out.push(RuntimeData::Audio(piece));
        }
        let rest = chunks.remainder().to_vec();
        let used = (held.samples.len() - rest.len()) / usize::from(held.channels);
        let mut rest = held.with_samples(rest, held.sample_rate, held.channels);
        rest.timestamp_us = held
            .timestamp_us
            .map(|t| t + frames_to_us(used, held.sample_rate));
        self.held = Some(rest);
        Ok(())
    }

    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        if let Some(rest) = self.held.take().filter(|h| !h.samples.is_empty()) {
            out.push(RuntimeData::Audio(rest));
        }
        Ok(())
    }
}

fn frames_to_us(frames: usize, rate: u32) -> u64 {
    (frames as u64 * 1_000_000) / u64::from(rate.max(1))
}

/// Re-maps interleaved audio from `from` to `to` channels: to mono by averaging,
/// from mono by copying, otherwise output channel `c` takes input channel `c % from`.
pub fn remix(samples: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to {
        return samples.to_vec();
    }
    let frames = samples.len() / from;
    let mut out = Vec::with_capacity(frames * to);
    for frame in samples.chunks_exact(from) {
        if to == 1 {
            out.push(frame.iter().sum::<f32>() / from as f32);
        } else {
            out.extend((0..to).map(|c| frame[c % from]));
        }
    }
    out
}

/// Multiplies every sample by a fixed factor.
pub struct Gain {
    factor: f32,
}

impl Node for Gain {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let mut audio = expect_audio(input, "GainNode")?;
        audio.samples.iter_mut().for_each(|s| *s *= self.factor);
        out.push(RuntimeData::Audio(audio));
        Ok(())
    }
}

/// f32 audio passes through; i16 gives little-endian PCM bytes (clamped, rounded).
pub struct FormatConverter {
    to_i16: bool,
}

impl Node for FormatConverter {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "FormatConverterNode")?;
        if !self.to_i16 {
            out.push(RuntimeData::Audio(audio));
            return Ok(());
        }
        let bytes = audio
            .samples
            .iter()
            .flat_map(|&s| ((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
            .collect();
        out.push(RuntimeData::Binary(bytes));
        Ok(())
    }
}
