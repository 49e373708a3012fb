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
/// Default of [`Limits::max_frames`]: 2^24 frames (5.8 min at 48 kHz).
pub const MAX_FRAMES_PARAM: usize = 1 << 24;
/// Default of [`Limits::max_output_values`]: 2^27 float32 values (512 MiB).
pub const MAX_OUTPUT_VALUES: usize = 1 << 27;
/// Highest [`Limits::max_frames`] an executor may be given: 2^30 frames.
pub const HARD_MAX_FRAMES: usize = 1 << 30;
/// Highest [`Limits::max_output_values`] an executor may be given. In WebAssembly,
/// whose memory is at most 4 GiB and where a failed allocation aborts the worker,
/// 2^29 values (2 GiB); natively 2^34 (64 GiB).
pub const HARD_MAX_OUTPUT_VALUES: usize = if cfg!(target_pointer_width = "32") {
    1 << 29
} else {
    1 << 34
};

/// The sizes an executor lets input ask for, set per executor
/// ([`Executor::with_limits`](crate::Executor::with_limits); the native CLI's
/// `--max-frames` / `--max-output-values`, the SDK's `RemoteMedia.create({ limits })`).
/// Nodes read them from their [`Params`](crate::params::Params) when built, so a limit
/// applies from the next run or session on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest chunk size or hop a parameter may ask for, in frames
    /// (`AudioChunkerNode.chunk_size`, `MelSpectrogramNode.hop_length`).
    pub max_frames: usize,
    /// Largest number of float32 values (samples of all channels, spectrogram bins)
    /// one node may produce from one item when that size follows from the input: a
    /// decoded audio file (in all its pieces: a long file leaves the decoder in pieces,
    /// so memory holds far less), a mel spectrogram.
    pub max_output_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frames: MAX_FRAMES_PARAM,
            max_output_values: MAX_OUTPUT_VALUES,
        }
    }
}

/// A limit out of its range: which one (`"max_frames"` or `"max_output_values"`, the
/// field's name), its highest allowed value and the value given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// The field of [`Limits`].
    pub field: &'static str,
    /// Highest allowed value (the lowest is 1).
    pub max: usize,
    /// The value given.
    pub got: u64,
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} must be 1 to {}, got {}",
            self.field, self.max, self.got
        )
    }
}

impl Limits {
    /// Checked limits: `max_frames` 1 to [`HARD_MAX_FRAMES`], `max_output_values` 1 to
    /// [`HARD_MAX_OUTPUT_VALUES`]. The error names the field and its range.
    pub fn new(max_frames: u64, max_output_values: u64) -> Result<Limits, LimitError> {
        let check = |field: &'static str, got: u64, max: usize| {
            usize::try_from(got)
                .ok()
                .filter(|v| (1..=max).contains(v))
                .ok_or(LimitError { field, max, got })
        };
        Ok(Limits {
            max_frames: check("max_frames", max_frames, HARD_MAX_FRAMES)?,
            max_output_values: check(
                "max_output_values",
                max_output_values,
                HARD_MAX_OUTPUT_VALUES,
            )?,
        })
    }
}

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
