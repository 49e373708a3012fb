//! `MelSpectrogramNode`: the Whisper-style log-mel front end.
//!
//! Follows OpenAI Whisper's `log_mel_spectrogram` (`whisper/audio.py`): periodic Hann
//! window of `n_fft`, centred frames (reflect padding of `n_fft / 2`), power
//! spectrum (FFT by realfft), the last frame dropped (`len / hop_length` frames), a
//! Slaney-style mel filter bank with Slaney area normalisation (as
//! `librosa.filters.mel(sr, n_fft, n_mels)`), then with `log: true`
//! `log10(max(mel, 1e-10))`, clamped to 8 below its maximum, and `(x + 4) / 4`.
//! Output: a float32 tensor of shape `[n_mels, frames]` (row-major, mel band first).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::data::{RuntimeData, Tensor};
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::nodes::audio_basic::remix;
use crate::nodes::expect_audio;
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::Shape;

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "MelSpectrogramNode",
        aliases: &["MelSpectrogram"],
        summary: "audio -> tensor [n_mels, frames] (Whisper-style log-mel)",
        params: const {
            &[
                ParamSpec::optional("n_fft", ParamKind::Count)
                    .default(ParamDefault::Count(400))
                    .doc("FFT size and Hann window length, in samples."),
                ParamSpec::optional("hop_length", ParamKind::Count)
                    .default(ParamDefault::Count(160))
                    .doc("Samples between frames, 1 to the executor's max_frames (default 16777216)."),
                ParamSpec::optional("n_mels", ParamKind::Count)
                    .default(ParamDefault::Count(80))
                    .doc("Mel bands."),
                ParamSpec::optional("log", ParamKind::Bool)
                    .default(ParamDefault::Bool(true))
                    .doc("Whisper's log scaling (`log10`, clamped to 8 below the max, `(x + 4) / 4`); false gives mel power."),
            ]
        },
        output: Shape::Tensor,
        create: |p| Ok(Box::new(MelSpectrogram::from_params(p)?)),
    }]
}

/// Computes mel spectrograms; the filter bank is cached per sample rate.
pub struct MelSpectrogram {
    n_fft: usize,
    hop: usize,
    n_mels: usize,
    log: bool,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    filters: Option<(u32, Vec<Vec<f32>>)>,
    /// The executor's [`Limits::max_output_values`](crate::Limits::max_output_values).
    max_output_values: usize,
}

impl MelSpectrogram {
    fn from_params(p: Params<'_>) -> Result<Self, ParamError> {
        let n_fft = p.count("n_fft");
        let n_mels = p.count("n_mels");
        if !(16..=65536).contains(&n_fft) {
            return Err(ParamError::new("n_fft", "must be from 16 to 65536 samples"));
        }
        let hop = p.count_in("hop_length", 1..=p.limits().max_frames, "samples")?;
        if !(1..=512).contains(&n_mels) {
            return Err(ParamError::new("n_mels", "must be from 1 to 512"));
        }
        let window = (0..n_fft)
            .map(|n| {
                let x = 2.0 * std::f64::consts::PI * n as f64 / n_fft as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        Ok(MelSpectrogram {
            n_fft,
            hop,
            n_mels,
            log: p.bool("log"),
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(n_fft),
            window,
            filters: None,
            max_output_values: p.limits().max_output_values,
        })
    }

    /// The `[n_mels][n_fft/2 + 1]` filter bank for `sample_rate`.
    fn filters(&mut self, sample_rate: u32) -> &[Vec<f32>] {
        if self.filters.as_ref().map(|f| f.0) != Some(sample_rate) {
            let bank = mel_filter_bank(sample_rate, self.n_fft, self.n_mels);
            self.filters = Some((sample_rate, bank));
        }
        &self.filters.as_ref().expect("filters were just set").1
    }

    /// `[n_mels, frames]` values for mono `samples` at `sample_rate`.
    pub fn compute(&mut self, samples: &[f32], sample_rate: u32) -> (usize, Vec<f32>) {
        let frames = samples.len() / self.hop;
        let pad = self.n_fft / 2;
        let padded = reflect_pad(samples, pad);
        let bins = self.n_fft / 2 + 1;
        let mut power = vec![0f32; frames * bins];
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        for t in 0..frames {
            let start = t * self.hop;
            for (i, x) in input.iter_mut().enumerate() {
                *x = padded[start + i] * self.window[i];
            }
            // Lengths come from the plan, so process cannot fail.
            let _ = self.fft.process(&mut input, &mut spectrum);
            for (k, c) in spectrum.iter().enumerate() {
                power[t * bins + k] = c.norm_sqr();
            }
        }
        let n_mels = self.n_mels;
        let log = self.log;
        let filters = self.filters(sample_rate);
        let mut mel = vec![0f32; n_mels * frames];
        for (m, filter) in filters.iter().enumerate() {
            for t in 0..frames {
                let row = &power[t * bins..(t + 1) * bins];
                mel[m * frames + t] = filter.iter().zip(row).map(|(w, p)| w * p).sum();
            }
        }
        if log {
            for v in &mut mel {
                *v = v.max(1e-10).log10();
            }
            let max = mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            for v in &mut mel {
                *v = (v.max(max - 8.0) + 4.0) / 4.0;
            }
        }
        (frames, mel)
    }
}

impl Node for MelSpectrogram {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, "MelSpectrogramNode")?;
        let mono = remix(&audio.samples, usize::from(audio.channels), 1);
        // The spectrum's size follows from the parameters: refuse before allocating it.
        let frames = mono.len() / self.hop;
        let values = frames.saturating_mul(self.n_fft / 2 + 1);
        if values > self.max_output_values {
            return Err(NodeFailure::new(format!(
                "{frames} frames of {} bins is {values} values, over the limit of {} (max_output_values); raise hop_length or send shorter items",
                self.n_fft / 2 + 1,
                self.max_output_values
            )));
        }
        let (frames, values) = self.compute(&mono, audio.sample_rate);
        let tensor =
            Tensor::from_f32(vec![self.n_mels, frames], &values).map_err(NodeFailure::new)?;
        out.push(RuntimeData::Tensor(tensor));
        Ok(())
    }
}

/// Pads with `pad` mirrored samples on each side (numpy/torch "reflect", the edge
/// sample not repeated); signals too short to mirror are zero-padded instead.
fn reflect_pad(samples: &[f32], pad: usize) -> Vec<f32> {
    let n = samples.len();
    let mut out = Vec::with_capacity(n + 2 * pad);
    if n <= pad {
        out.resize(pad, 0.0);
        out.extend_from_slice(samples);
        out.resize(n + 2 * pad, 0.0);
        return out;
    }
    out.extend((1..=pad).rev().map(|i| samples[i]));
    out.extend_from_slice(samples);
    out.extend((0..pad).map(|i| samples[n - 2 - i]));
    out
}

/// Hz to mel on the Slaney scale (linear below 1 kHz, logarithmic above), as
/// librosa's `hz_to_mel(htk=False)`.
pub fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let (min_log_hz, min_log_mel) = (1000.0, 1000.0 / f_sp);
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let (min_log_hz, min_log_mel) = (1000.0, 1000.0 / f_sp);
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// Triangular mel filters from 0 Hz to Nyquist with Slaney area normalisation:
/// `n_mels` rows of `n_fft / 2 + 1` weights (librosa `filters.mel` defaults).
pub fn mel_filter_bank(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<Vec<f32>> {
    let bins = n_fft / 2 + 1;
    let top = hz_to_mel(f64::from(sample_rate) / 2.0);
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(top * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|m| {
            let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            let norm = 2.0 / (hi - lo);
            (0..bins)
                .map(|k| {
                    let f = k as f64 * f64::from(sample_rate) / n_fft as f64;
                    let rise = (f - lo) / (mid - lo);
                    let fall = (hi - f) / (hi - mid);
                    (rise.min(fall).max(0.0) * norm) as f32
                })
                .collect()
        })
        .collect()
}
