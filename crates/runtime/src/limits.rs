//! Limits on what input may ask for. Every size, rate or count read from a manifest or
//! an item is checked against these before anything is allocated or a library is
//! called, so absurd input is an error, never a panic, a hang or an abort. The node
//! catalog (`docs/nodes.md`) states the ones that apply to each parameter.

/// Lowest sample rate accepted anywhere, in Hz.
pub const MIN_SAMPLE_RATE: u32 = 1;
/// Highest sample rate accepted anywhere, in Hz (the highest rate of common audio
/// interfaces).
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// Largest resampling ratio either way (output rate / input rate, or its inverse):
/// 3 kHz <-> 768 kHz. Beyond it a resampler's buffers grow without bound.
pub const MAX_RESAMPLE_RATIO: f64 = 256.0;
/// Largest number of frames in a chunk or analysis window (2^24: 5.8 min at 48 kHz).
pub const MAX_FRAMES_PARAM: usize = 1 << 24;
/// Largest number of float32 values one node may produce from one item (2^27:
/// 512 MiB), for outputs whose size follows from parameters (a mel spectrogram).
pub const MAX_OUTPUT_VALUES: usize = 1 << 27;

/// Index and value of the first sample that is NaN or infinite.
pub fn first_non_finite(samples: &[f32]) -> Option<(usize, f32)> {
    samples
        .iter()
        .position(|s| !s.is_finite())
        .map(|i| (i, samples[i]))
}

/// Whether `rate` (Hz) is within [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
pub fn sample_rate_ok(rate: u32) -> bool {
    (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate)
}
