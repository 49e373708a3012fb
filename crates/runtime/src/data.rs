//! `RuntimeData`: the items that flow between nodes (`docs/wire-format.md`).
//!
//! Names follow native RemoteMedia. Audio is always interleaved `f32`
//! (`samples.len() == frames * channels`).

use serde_json::{Map, Value};

/// One item flowing along a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeData {
    /// Interleaved float32 audio.
    Audio(AudioBuffer),
    /// UTF-8 text (a JSON string on the wire).
    Text(String),
    /// Any other JSON value: numbers, booleans, null, arrays, objects.
    Json(Value),
    /// Raw bytes, for example a whole audio file.
    Binary(Vec<u8>),
    /// An n-dimensional array (the numpy envelope on the wire).
    Tensor(Tensor),
}

impl RuntimeData {
    /// Short lower-case name of the variant (`"audio"`, `"text"`, `"json"`,
    /// `"binary"`, `"tensor"`), used in error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            RuntimeData::Audio(_) => "audio",
            RuntimeData::Text(_) => "text",
            RuntimeData::Json(_) => "json",
            RuntimeData::Binary(_) => "binary",
            RuntimeData::Tensor(_) => "tensor",
        }
    }
}

/// Interleaved float32 audio with its format.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBuffer {
    /// Interleaved samples, nominally in [-1, 1]; length is `frames * channels`.
    pub samples: Vec<f32>,
    /// Frames per second, in Hz.
    pub sample_rate: u32,
    /// Number of interleaved channels (at least 1).
    pub channels: u16,
    /// Presentation time of the first frame, in microseconds, if known.
    pub timestamp_us: Option<u64>,
    /// Identifier of the stream this buffer belongs to, if any.
    pub stream_id: Option<String>,
    /// Annotations added by nodes, for example `{"vad": {...}}` from
    /// `VoiceActivityDetector`. Empty for plain audio.
    pub metadata: Map<String, Value>,
}

impl AudioBuffer {
    /// A buffer with no timestamp, stream id or metadata.
    pub fn new(samples: Vec<f32>, sample_rate: u32, channels: u16) -> Self {
        AudioBuffer {
            samples,
            sample_rate,
            channels,
            timestamp_us: None,
            stream_id: None,
            metadata: Map::new(),
        }
    }

    /// [`AudioBuffer::new`] for audio from outside (a page, another program): errors on
    /// a sample rate outside the [limits](crate::limits) (1 to 768000 Hz), no channels,
    /// or a sample count that is not a whole number of frames.
    pub fn checked(samples: Vec<f32>, sample_rate: u32, channels: u16) -> Result<Self, String> {
        if !crate::limits::sample_rate_ok(sample_rate) {
            return Err(format!(
                "sample rate {sample_rate} Hz is outside 1 to {} Hz",
                crate::limits::MAX_SAMPLE_RATE
            ));
        }
        if channels == 0 || !samples.len().is_multiple_of(usize::from(channels)) {
            return Err(format!(
                "{} samples are not a whole number of frames of {channels} channel(s)",
                samples.len()
            ));
        }
        Ok(AudioBuffer::new(samples, sample_rate, channels))
    }

    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// A copy of this buffer's format (rate, channels, stream id) with other samples.
    pub fn with_samples(&self, samples: Vec<f32>, sample_rate: u32, channels: u16) -> Self {
        AudioBuffer {
            samples,
            sample_rate,
            channels,
            timestamp_us: self.timestamp_us,
            stream_id: self.stream_id.clone(),
            metadata: Map::new(),
        }
    }
}

/// Element type of a [`Tensor`], with numpy's names: the dtypes of the original
/// RemoteMedia SDK's numpy marshalling (`runtime/src/python/numpy_marshal.rs` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// 32-bit IEEE float.
    Float32,
    /// 64-bit IEEE float.
    Float64,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit integer.
    Int16,
    /// Signed 32-bit integer.
    Int32,
    /// Signed 64-bit integer.
    Int64,
    /// Unsigned 8-bit integer.
    Uint8,
    /// Unsigned 16-bit integer.
    Uint16,
    /// Unsigned 32-bit integer.
    Uint32,
    /// Unsigned 64-bit integer.
    Uint64,
    /// numpy's `bool`: one byte per element, 0 or 1.
    Bool,
}

impl DType {
    /// Every supported dtype, for error messages.
    pub const ALL: [DType; 11] = [
        DType::Float32,
        DType::Float64,
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::Uint8,
        DType::Uint16,
        DType::Uint32,
        DType::Uint64,
        DType::Bool,
    ];

    /// numpy's name (`"float32"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Uint8 => "uint8",
            DType::Uint16 => "uint16",
            DType::Uint32 => "uint32",
            DType::Uint64 => "uint64",
            DType::Bool => "bool",
        }
    }

    /// Parses numpy's name or its little-endian type string (`"<f4"`, `"|b1"`).
    pub fn parse(name: &str) -> Option<DType> {
        Some(match name {
            "float32" | "<f4" | "f4" => DType::Float32,
            "float64" | "<f8" | "f8" => DType::Float64,
            "int8" | "|i1" | "i1" => DType::Int8,
            "int16" | "<i2" | "i2" => DType::Int16,
            "int32" | "<i4" | "i4" => DType::Int32,
            "int64" | "<i8" | "i8" => DType::Int64,
            "uint8" | "|u1" | "u1" => DType::Uint8,
            "uint16" | "<u2" | "u2" => DType::Uint16,
            "uint32" | "<u4" | "u4" => DType::Uint32,
            "uint64" | "<u8" | "u8" => DType::Uint64,
            "bool" | "|b1" | "b1" => DType::Bool,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn item_size(self) -> usize {
        match self {
            DType::Uint8 | DType::Int8 | DType::Bool => 1,
            DType::Int16 | DType::Uint16 => 2,
            DType::Float32 | DType::Int32 | DType::Uint32 => 4,
            DType::Float64 | DType::Int64 | DType::Uint64 => 8,
        }
    }
}

/// `frames` at `rate` Hz as milliseconds, rounded to the nanosecond where it is
/// derived, so results read `420` and not `419.99999999999994` (a rate of 0 counts as 1).
pub fn frames_to_ms(frames: u64, rate: f64) -> f64 {
    seconds_to_ms(frames as f64 / rate.max(1.0))
}

/// Seconds as milliseconds, rounded to the nanosecond (see [`frames_to_ms`]).
pub fn seconds_to_ms(seconds: f64) -> f64 {
    (seconds * 1e9).round() / 1e6
}

/// An n-dimensional row-major array stored as little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Element type.
    pub dtype: DType,
    /// Dimensions, outermost first; the element count is their product.
    pub shape: Vec<usize>,
    /// `product(shape) * dtype.item_size()` little-endian bytes.
    pub data: Vec<u8>,
}

impl Tensor {
    /// A float32 tensor of the given shape.
    ///
    /// Errors if `values.len()` is not the product of `shape`.
    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Result<Tensor, String> {
        let count: usize = shape.iter().product();
        if count != values.len() {
            return Err(format!(
                "tensor shape {shape:?} holds {count} elements but {} were given",
                values.len()
            ));
        }
        Ok(Tensor {
            dtype: DType::Float32,
            shape,
            data: f32_to_le_bytes(values),
        })
    }

    /// The elements as float32, if the dtype is float32.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        (self.dtype == DType::Float32).then(|| le_bytes_to_f32(&self.data))
    }
}

/// Float32 samples as little-endian bytes (`4 * values.len()` bytes).
pub fn f32_to_le_bytes(values: &[f32]) -> Vec<u8> {
    if cfg!(target_endian = "little") {
        bytemuck::cast_slice(values).to_vec()
    } else {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

/// Little-endian bytes as float32 samples. Trailing bytes that do not make a whole
/// sample are ignored; callers check the length first.
pub fn le_bytes_to_f32(bytes: &[u8]) -> Vec<f32> {
    let whole = &bytes[..bytes.len() - bytes.len() % 4];
    if cfg!(target_endian = "little") {
        // Copies, so the input need not be 4-byte aligned.
        bytemuck::pod_collect_to_vec(whole)
    } else {
        whole
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{frames_to_ms, seconds_to_ms};

    #[test]
    fn milliseconds_are_rounded_where_derived() {
        // 1001 frames at 16 kHz is 62.5625 ms, which f64 arithmetic makes 62.56249999999999.
        assert_ne!(1001.0 / 16000.0 * 1000.0, 62.5625);
        assert_eq!(frames_to_ms(1001, 16000.0), 62.5625);
        assert_eq!(seconds_to_ms(1001.0 / 16000.0), 62.5625);
        assert_eq!(frames_to_ms(1, 48000.0), 0.020833);
        assert_eq!(frames_to_ms(5, 0.0), 5000.0);
    }
}
