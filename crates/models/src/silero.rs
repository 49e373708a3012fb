//! Silero VAD v6 (snakers4/silero-vad, MIT): the probability that a window of 16 kHz or
//! 8 kHz audio is speech, with state carried from window to window.
//!
//! The network, as the ONNX export of release 6.2 computes it (the file npm's
//! `@ricky0123/vad-web` ships as `silero_vad_v6.onnx`, byte for byte PyPI
//! `silero-vad`'s `silero_vad.onnx`): the window after the last `context` samples of
//! the previous one, reflect-padded on the right by `n_fft / 4`; an STFT as a strided
//! convolution (`n_fft` taps, hop `n_fft / 2`) and its magnitudes; four 3-tap
//! convolutions with ReLU (strides 1, 2, 2, 1) down to one frame; an LSTM cell of 128;
//! ReLU, a 1x1 convolution and a sigmoid. The weights are read from the ONNX file, so
//! this file holds none of them.
//!
//! | sample rate | window | context | `n_fft` |
//! |---|---|---|---|
//! | 16000 Hz | 512 samples (32 ms) | 64 | 256 |
//! | 8000 Hz | 256 samples (32 ms) | 32 | 128 |

use crate::onnx::{self, FloatTensor};

/// The LSTM's hidden size.
const HIDDEN: usize = 128;

/// One sample rate's network.
#[derive(Debug, Clone)]
pub struct SileroVad {
    sample_rate: u32,
    window: usize,
    context: usize,
    n_fft: usize,
    stft: Conv1d,
    encoder: [Conv1d; 4],
    lstm: Lstm,
    out_weight: Vec<f32>,
    out_bias: f32,
}

/// What a stream carries from one window to the next: the LSTM's hidden and cell
/// state and the last `context` samples. A new stream starts from [`SileroVad::state`].
#[derive(Debug, Clone, PartialEq)]
pub struct SileroState {
    h: Vec<f32>,
    c: Vec<f32>,
    context: Vec<f32>,
}

impl SileroVad {
    /// The network for `sample_rate` (16000 or 8000 Hz) from the bytes of Silero VAD's
    /// ONNX export (`silero_vad_v6.onnx`; also the single-rate 16 kHz exports, whose
    /// tensors carry a `model.` prefix).
    ///
    /// Errors: another sample rate; bytes that are not an ONNX file; a file without one
    /// of the network's tensors, or with one of another shape (named).
    pub fn from_onnx(bytes: &[u8], sample_rate: u32) -> Result<SileroVad, String> {
        let (window, n_fft) = match sample_rate {
            16_000 => (512, 256),
            8_000 => (256, 128),
            other => {
                return Err(format!(
                    "Silero VAD runs at 16000 or 8000 Hz, not {other} Hz"
                ))
            }
        };
        let tensors = onnx::float_tensors(bytes)?;
        // The tensors of this rate's branch: the STFT basis has n_fft + 2 rows.
        let stft_shape = [n_fft + 2, 1, n_fft];
        let prefix = tensors
            .iter()
            .find(|(name, t)| name.ends_with("stft.forward_basis_buffer") && t.dims == stft_shape)
            .map(|(name, _)| {
                name.trim_end_matches("stft.forward_basis_buffer")
                    .to_string()
            })
            .ok_or_else(|| {
                format!("the ONNX file has no Silero VAD STFT basis for {sample_rate} Hz")
            })?;
        let get = |suffix: &str, dims: &[usize]| -> Result<Vec<f32>, String> {
            let name = format!("{prefix}{suffix}");
            match tensors.get(&name) {
                Some(FloatTensor { dims: d, data }) if d == dims => Ok(data.clone()),
                Some(t) => Err(format!(
                    "the ONNX file's {name} has shape {:?}, not {dims:?}",
                    t.dims
                )),
                None => Err(format!("the ONNX file has no {name}")),
            }
        };
        let bins = n_fft / 2 + 1;
        let conv = |i: usize, inputs: usize, outputs: usize, stride: usize| {
            Ok::<_, String>(Conv1d {
                weight: get(
                    &format!("encoder.{i}.reparam_conv.weight"),
                    &[outputs, inputs, 3],
                )?,
                bias: get(&format!("encoder.{i}.reparam_conv.bias"), &[outputs])?,
                inputs,
                outputs,
                taps: 3,
                stride,
                pad: 1,
            })
        };
        Ok(SileroVad {
            sample_rate,
            window,
            context: window / 8,
            n_fft,
            stft: Conv1d {
                weight: get("stft.forward_basis_buffer", &stft_shape)?,
                bias: vec![0.0; n_fft + 2],
                inputs: 1,
                outputs: n_fft + 2,
                taps: n_fft,
                stride: n_fft / 2,
                pad: 0,
            },
            encoder: [
                conv(0, bins, 128, 1)?,
                conv(1, 128, 64, 2)?,
                conv(2, 64, 64, 2)?,
                conv(3, 64, 128, 1)?,
            ],
            lstm: Lstm {
                weight_ih: get("decoder.rnn.weight_ih", &[4 * HIDDEN, HIDDEN])?,
                weight_hh: get("decoder.rnn.weight_hh", &[4 * HIDDEN, HIDDEN])?,
                bias: {
                    let ih = get("decoder.rnn.bias_ih", &[4 * HIDDEN])?;
                    let hh = get("decoder.rnn.bias_hh", &[4 * HIDDEN])?;
                    ih.iter().zip(&hh).map(|(a, b)| a + b).collect()
                },
            },
            out_weight: get("decoder.decoder.2.weight", &[1, HIDDEN, 1])?,
            out_bias: get("decoder.decoder.2.bias", &[1])?[0],
        })
    }

    /// The sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples in one window: 512 at 16 kHz, 256 at 8 kHz (32 ms).
    pub fn window_samples(&self) -> usize {
        self.window
    }

    /// The state a new stream starts from: zeros.
    pub fn state(&self) -> SileroState {
        SileroState {
            h: vec![0.0; HIDDEN],
            c: vec![0.0; HIDDEN],
            context: vec![0.0; self.context],
        }
    }

    /// The speech probability (0 to 1) of the next window of a stream, advancing its
    /// state. Samples that are not finite count as silence (0), so one NaN cannot
    /// poison the state for the rest of the stream.
    ///
    /// Errors: `window` is not [`SileroVad::window_samples`] long, or `state` is of
    /// another rate's network.
    pub fn probability(&self, state: &mut SileroState, window: &[f32]) -> Result<f32, String> {
        if window.len() != self.window || state.context.len() != self.context {
            return Err(format!(
                "Silero VAD at {} Hz takes windows of {} samples, got {}",
                self.sample_rate,
                self.window,
                window.len()
            ));
        }
        // The context, the window, then n_fft / 4 samples reflected about the last one.
        let pad = self.n_fft / 4;
        let mut x = Vec::with_capacity(self.context + self.window + pad);
        x.extend_from_slice(&state.context);
        x.extend(window.iter().map(|&s| if s.is_finite() { s } else { 0.0 }));
        let last = x.len() - 1;
        for j in 1..=pad {
            x.push(x[last - j]);
        }
        state
            .context
            .copy_from_slice(&x[last + 1 - self.context..=last]);

        let spectrum = self.stft.apply(&x);
        let frames = spectrum.len() / self.stft.outputs;
        let bins = self.n_fft / 2 + 1;
        let mut magnitude = vec![0.0f32; bins * frames];
        for (b, row) in magnitude.chunks_exact_mut(frames).enumerate() {
            for (t, m) in row.iter_mut().enumerate() {
                let re = spectrum[b * frames + t];
                let im = spectrum[(b + bins) * frames + t];
                *m = (re * re + im * im).sqrt();
            }
        }
        let mut features = magnitude;
        for conv in &self.encoder {
            features = conv.apply(&features);
            features.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        // One frame is left: the 128 features are the LSTM's input.
        let frames = features.len() / HIDDEN;
        let input: Vec<f32> = (0..HIDDEN).map(|i| features[i * frames]).collect();
        self.lstm.step(&input, &mut state.h, &mut state.c);
        let logit = self.out_bias
            + state
                .h
                .iter()
                .zip(&self.out_weight)
                .map(|(h, w)| h.max(0.0) * w)
                .sum::<f32>();
        Ok(sigmoid(logit))
    }
}

/// A 1-D convolution over `inputs` channels of `t` frames each (row-major `[inputs][t]`),
/// zero-padded by `pad` on both sides, giving `[outputs][t']`.
#[derive(Debug, Clone)]
struct Conv1d {
    /// `[outputs][inputs][taps]`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    taps: usize,
    stride: usize,
    pad: usize,
}

impl Conv1d {
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        let t_in = x.len() / self.inputs;
        let padded = t_in + 2 * self.pad;
        let t_out = padded.saturating_sub(self.taps) / self.stride + 1;
        // Each input row with its zero padding, so every tap reads inside a row.
        let mut xp = vec![0.0f32; self.inputs * padded];
        for (c, row) in xp.chunks_exact_mut(padded).enumerate() {
            row[self.pad..self.pad + t_in].copy_from_slice(&x[c * t_in..][..t_in]);
        }
        // The input patch of each output frame laid out as the weights are (`[inputs][taps]`),
        // so each output is one long dot product, which vectorises.
        let patch_len = self.inputs * self.taps;
        let mut patches = vec![0.0f32; t_out * patch_len];
        for (t, patch) in patches.chunks_exact_mut(patch_len).enumerate() {
            for (row, dst) in xp
                .chunks_exact(padded)
                .zip(patch.chunks_exact_mut(self.taps))
            {
                dst.copy_from_slice(&row[t * self.stride..][..self.taps]);
            }
        }
        let mut out = vec![0.0f32; self.outputs * t_out];
        for (o, out_row) in out.chunks_exact_mut(t_out).enumerate() {
            let w = &self.weight[o * patch_len..][..patch_len];
            for (y, patch) in out_row.iter_mut().zip(patches.chunks_exact(patch_len)) {
                *y = self.bias[o] + dot(w, patch);
            }
        }
        out
    }
}

/// The dot product of two slices of the same length, in eight interleaved partial sums
/// (a fixed order, so every platform gets the same result; independent sums let the
/// compiler use SIMD, which one running sum would forbid).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let b = &b[..a.len()];
    let mut lanes = [0.0f32; 8];
    let (a8, a_rest) = a.split_at(a.len() / 8 * 8);
    let (b8, b_rest) = b.split_at(a8.len());
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    let mut sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += x * y;
    }
    sum
}

/// An LSTM cell (PyTorch's `LSTMCell`: gates in the order input, forget, cell, output).
#[derive(Debug, Clone)]
struct Lstm {
    /// `[4 * HIDDEN][HIDDEN]`.
    weight_ih: Vec<f32>,
    /// `[4 * HIDDEN][HIDDEN]`.
    weight_hh: Vec<f32>,
    /// `bias_ih + bias_hh`.
    bias: Vec<f32>,
}

impl Lstm {
    fn step(&self, x: &[f32], h: &mut [f32], c: &mut [f32]) {
        let gates: Vec<f32> = (0..4 * HIDDEN)
            .map(|g| {
                let wi = &self.weight_ih[g * HIDDEN..][..HIDDEN];
                let wh = &self.weight_hh[g * HIDDEN..][..HIDDEN];
                self.bias[g] + dot(wi, x) + dot(wh, h)
            })
            .collect();
        for i in 0..HIDDEN {
            let input = sigmoid(gates[i]);
            let forget = sigmoid(gates[HIDDEN + i]);
            let cell = gates[2 * HIDDEN + i].tanh();
            let output = sigmoid(gates[3 * HIDDEN + i]);
            c[i] = forget * c[i] + input * cell;
            h[i] = output * c[i].tanh();
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
