//! The JSON wire form of [`RuntimeData`] (`docs/wire-format.md`).
//!
//! - strings are `Text`; other plain JSON is `Json`;
//! - float32 payloads are base64 (standard alphabet, padded) of little-endian bytes;
//! - tensors use the native RemoteMedia numpy envelope
//!   `{"__numpy__": true, "array": {"meta": {"shape": [..], "dtype": "float32", "size",
//!   "c_contiguous", "f_contiguous"}, "data": "<b64>"}}` (the last three written, and `size`
//!   checked when present);
//! - audio: `{"__audio__": true, "audio": {"meta": {"sample_rate", "channels", ...}, "data": "<b64>"}}`;
//! - binary: `{"__binary__": true, "binary": {"meta": {}, "data": "<b64>"}}`;
//! - a `Json` object that has one of the marker keys at its top level is written as
//!   `{"__json__": true, "value": {...}}`, so no plain object is ever mistaken for an envelope.
//!
//! Envelopes are recognised only at the top level of an item.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::data::{f32_to_le_bytes, le_bytes_to_f32, AudioBuffer, DType, RuntimeData, Tensor};

/// Marker keys; an object holding one of them at the top level is an envelope.
pub const MARKERS: [&str; 4] = ["__numpy__", "__audio__", "__binary__", "__json__"];

/// A wire value that could not be decoded. `path` is a JSON path inside the item
/// (`$.audio.data`); `message` says what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Where in the item the problem is, `$` being the item itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for WireError {}

fn err(path: &str, message: impl Into<String>) -> WireError {
    WireError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Float32 samples as base64 of their little-endian bytes.
pub fn encode_f32_base64(values: &[f32]) -> String {
    BASE64.encode(f32_to_le_bytes(values))
}

/// Base64 of little-endian float32 bytes back to samples.
///
/// Errors (never panics) on malformed base64 or a byte count that is not a multiple of 4.
pub fn decode_f32_base64(text: &str) -> Result<Vec<f32>, String> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| format!("malformed base64: {e}"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{} bytes is not a whole number of float32 samples (4 bytes each)",
            bytes.len()
        ));
    }
    Ok(le_bytes_to_f32(&bytes))
}

/// The wire form of one item.
pub fn encode(data: &RuntimeData) -> Value {
    encode_with(data, &mut base64_data)
}

/// The payload encoder of the JSON wire form: a base64 string.
pub fn base64_data(bytes: &[u8]) -> Value {
    Value::String(BASE64.encode(bytes))
}

/// Writes `bytes` as the JSON string [`base64_data`] makes, streaming the base64 text
/// instead of building it, so a large payload is never held twice.
pub fn write_base64_data(bytes: &[u8], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use std::io::Write;
    out.write_all(b"\"")?;
    {
        let mut encoder = base64::write::EncoderWriter::new(&mut *out, &BASE64);
        // Whole 3-byte groups at a time keep the encoder's own buffer small.
        for chunk in bytes.chunks(3 * 16 * 1024) {
            encoder.write_all(chunk)?;
        }
        encoder.finish()?;
    }
    out.write_all(b"\"")
}

/// The wire form of one item, with each binary payload (audio samples, tensor and
/// binary bytes, little-endian) handed to `payload`, whose answer becomes the
/// envelope's `data` field. [`encode`] answers base64 strings; the browser worker
/// answers `{"$buffer": n}` references to buffers it transfers.
pub fn encode_with(data: &RuntimeData, payload: &mut dyn FnMut(&[u8]) -> Value) -> Value {
    match data {
        RuntimeData::Text(text) => Value::String(text.clone()),
        RuntimeData::Json(value) => encode_json(value),
        RuntimeData::Binary(bytes) => json!({
            "__binary__": true,
            "binary": { "meta": {}, "data": payload(bytes) },
        }),
        RuntimeData::Tensor(tensor) => {
            let (c_contiguous, f_contiguous) = contiguity(&tensor.shape);
            json!({
                "__numpy__": true,
                "array": {
                    "meta": {
                        "shape": tensor.shape,
                        "dtype": tensor.dtype.name(),
                        "size": tensor.shape.iter().product::<usize>(),
                        "c_contiguous": c_contiguous,
                        "f_contiguous": f_contiguous,
                    },
                    "data": payload(&tensor.data),
                },
            })
        }
        RuntimeData::Audio(audio) => {
            let mut meta = Map::new();
            meta.insert("sample_rate".into(), audio.sample_rate.into());
            meta.insert("channels".into(), audio.channels.into());
            meta.insert("frames".into(), audio.frames().into());
            meta.insert("dtype".into(), "float32".into());
            if let Some(ts) = audio.timestamp_us {
                meta.insert("timestamp_us".into(), ts.into());
            }
            if let Some(id) = &audio.stream_id {
                meta.insert("stream_id".into(), id.clone().into());
            }
            if !audio.metadata.is_empty() {
                meta.insert("metadata".into(), Value::Object(audio.metadata.clone()));
            }
            let data = if cfg!(target_endian = "little") {
                payload(bytemuck::cast_slice(&audio.samples))
            } else {
                payload(&f32_to_le_bytes(&audio.samples))
            };
            json!({ "__audio__": true, "audio": { "meta": meta, "data": data } })
        }
    }
}

fn encode_json(value: &Value) -> Value {
    match value {
        Value::String(_) => json!({ "__json__": true, "value": value }),
        Value::Object(map) if MARKERS.iter().any(|m| map.contains_key(*m)) => {
            json!({ "__json__": true, "value": value })
        }
        other => other.clone(),
    }
}

/// Decodes one item from its wire form.
///
/// Errors with a path and a message on a malformed envelope (missing field, wrong
/// type, bad base64, a length that does not match the shape); never panics.
pub fn decode(value: &Value) -> Result<RuntimeData, WireError> {
    decode_with(value, &mut |data, path, _| {
        base64_payload(data, path).map(Payload::Bytes)
    })
}

/// An envelope's payload, as its source read it.
pub enum Payload {
    /// Little-endian bytes.
    Bytes(Vec<u8>),
    /// Float32 samples read as such: the browser worker copies them straight out of a
    /// JS buffer into a `Vec<f32>` (one copy instead of two). Offered only when the
    /// source is asked for float32 data.
    Floats(Vec<f32>),
}

impl Payload {
    fn byte_len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Floats(f) => 4 * f.len(),
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            Payload::Bytes(b) => b,
            Payload::Floats(f) => f32_to_le_bytes(&f),
        }
    }

    fn into_f32(self) -> Vec<f32> {
        match self {
            Payload::Bytes(b) => le_bytes_to_f32(&b),
            Payload::Floats(f) => f,
        }
    }
}

/// A payload source: given an envelope's `data` value, its path, and whether float32
/// samples are wanted (audio), the payload.
pub type PayloadSource<'a> = dyn FnMut(&Value, &str, bool) -> Result<Payload, WireError> + 'a;

/// Decodes one item, reading each envelope's `data` through `payload` (see
/// [`encode_with`]); [`decode`] reads base64 strings.
pub fn decode_with(
    value: &Value,
    payload: &mut PayloadSource<'_>,
) -> Result<RuntimeData, WireError> {
    let map = match value {
        Value::String(text) => return Ok(RuntimeData::Text(text.clone())),
        Value::Object(map) => map,
        other => return Ok(RuntimeData::Json(other.clone())),
    };
    let Some(marker) = MARKERS.iter().find(|m| map.contains_key(**m)) else {
        return Ok(RuntimeData::Json(value.clone()));
    };
    if map.get(*marker) != Some(&Value::Bool(true)) {
        return Err(err(&format!("$.{marker}"), "envelope marker must be true"));
    }
    match *marker {
        "__json__" => map
            .get("value")
            .map(|v| RuntimeData::Json(v.clone()))
            .ok_or_else(|| err("$.value", "missing")),
        "__binary__" => {
            let body = object(map, "binary", "$")?;
            Ok(RuntimeData::Binary(
                data_field(body, "$.binary", false, payload)?.into_bytes(),
            ))
        }
        "__numpy__" => decode_tensor(map, payload),
        _ => decode_audio(map, payload),
    }
}

/// Decodes a list of items; the error path names the item (`$[3].audio.data`).
pub fn decode_all(values: &[Value]) -> Result<Vec<RuntimeData>, WireError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            decode(v).map_err(|e| WireError {
                path: e.path.replacen('$', &format!("$[{i}]"), 1),
                message: e.message,
            })
        })
        .collect()
}

fn object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a Map<String, Value>, WireError> {
    match map.get(key) {
        Some(Value::Object(inner)) => Ok(inner),
        Some(other) => Err(err(
            &format!("{at}.{key}"),
            format!("expected an object, got {}", json_kind(other)),
        )),
        None => Err(err(&format!("{at}.{key}"), "missing")),
    }
}

fn data_field(
    body: &Map<String, Value>,
    at: &str,
    float32: bool,
    payload: &mut PayloadSource<'_>,
) -> Result<Payload, WireError> {
    let path = format!("{at}.data");
    match body.get("data") {
        Some(value) => payload(value, &path, float32),
        None => Err(err(&path, "missing")),
    }
}

/// The [`PayloadSource`] of the JSON wire form: base64 strings.
pub fn base64_payload(value: &Value, path: &str) -> Result<Vec<u8>, WireError> {
    match value {
        Value::String(text) => BASE64
            .decode(text)
            .map_err(|e| err(path, format!("malformed base64: {e}"))),
        other => Err(err(
            path,
            format!("expected a base64 string, got {}", json_kind(other)),
        )),
    }
}

/// numpy's `flags.c_contiguous` and `flags.f_contiguous` of a row-major array of
/// `shape` (the original SDK's envelopes carry both and its reader requires them): data
/// is always row-major, so C-contiguous; it is Fortran-contiguous too when at most one
/// dimension is longer than 1, or it has no elements (numpy's rule).
pub fn contiguity(shape: &[usize]) -> (bool, bool) {
    let empty = shape.contains(&0);
    (true, empty || shape.iter().filter(|&&d| d > 1).count() <= 1)
}

fn decode_tensor(
    map: &Map<String, Value>,
    payload: &mut PayloadSource<'_>,
) -> Result<RuntimeData, WireError> {
    let body = object(map, "array", "$")?;
    let meta = object(body, "meta", "$.array")?;
    let dtype_name = meta
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| err("$.array.meta.dtype", "expected a dtype string"))?;
    let dtype = DType::parse(dtype_name).ok_or_else(|| {
        let known: Vec<_> = DType::ALL.iter().map(|d| d.name()).collect();
        err(
            "$.array.meta.dtype",
            format!(
                "unsupported dtype {dtype_name:?} (known: {})",
                known.join(", ")
            ),
        )
    })?;
    let shape = meta
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| err("$.array.meta.shape", "expected an array of sizes"))?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| err("$.array.meta.shape", "sizes must be whole numbers >= 0"))?;
    if let Some(size) = meta.get("size") {
        // The original's envelopes state the element count; data is row-major whatever
        // the contiguity flags say (its writer uses numpy's `tobytes()`).
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if size.as_u64().map(|s| s as usize) != count {
            return Err(err(
                "$.array.meta.size",
                format!("{size} is not the element count of shape {shape:?}"),
            ));
        }
    }
    let data = data_field(body, "$.array", false, payload)?.into_bytes();
    let expected = shape
        .iter()
        .try_fold(dtype.item_size(), |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            err(
                "$.array.meta.shape",
                format!("shape {shape:?} is too large"),
            )
        })?;
    if data.len() != expected {
        return Err(err(
            "$.array.data",
            format!(
                "shape {shape:?} of {} needs {expected} bytes, got {}",
                dtype.name(),
                data.len()
            ),
        ));
    }
    Ok(RuntimeData::Tensor(Tensor { dtype, shape, data }))
}

fn decode_audio(
    map: &Map<String, Value>,
    payload: &mut PayloadSource<'_>,
) -> Result<RuntimeData, WireError> {
    let body = object(map, "audio", "$")?;
    let meta = object(body, "meta", "$.audio")?;
    let sample_rate = positive(meta, "sample_rate")?;
    let channels = positive(meta, "channels")?;
    let channels = u16::try_from(channels)
        .map_err(|_| err("$.audio.meta.channels", "more than 65535 channels"))?;
    if let Some(dtype) = meta.get("dtype") {
        if dtype != "float32" {
            return Err(err("$.audio.meta.dtype", "audio data must be float32"));
        }
    }
    let data = data_field(body, "$.audio", true, payload)?;
    let frame_bytes = 4 * usize::from(channels);
    if data.byte_len() % frame_bytes != 0 {
        return Err(err(
            "$.audio.data",
            format!(
                "{} bytes is not a whole number of {channels}-channel float32 frames",
                data.byte_len()
            ),
        ));
    }
    if let Some(frames) = meta.get("frames") {
        let actual = data.byte_len() / frame_bytes;
        if frames.as_u64() != Some(actual as u64) {
            return Err(err(
                "$.audio.meta.frames",
                format!("says {frames}, but the data holds {actual} frames"),
            ));
        }
    }
    let mut audio = AudioBuffer::new(data.into_f32(), sample_rate, channels);
    audio.timestamp_us = meta.get("timestamp_us").and_then(Value::as_u64);
    audio.stream_id = meta
        .get("stream_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(Value::Object(extra)) = meta.get("metadata") {
        audio.metadata = extra.clone();
    }
    Ok(RuntimeData::Audio(audio))
}

fn positive(meta: &Map<String, Value>, key: &str) -> Result<u32, WireError> {
    meta.get(key)
        .and_then(Value::as_u64)
        .filter(|v| *v > 0 && *v <= u64::from(u32::MAX))
        .map(|v| v as u32)
        .ok_or_else(|| {
            err(
                &format!("$.audio.meta.{key}"),
                "expected a whole number > 0",
            )
        })
}

/// The JSON type name of a value (`"string"`, `"number"`, ...), for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `RuntimeData` serializes to its wire form ([`encode`]), so any serde format (JSON
/// text, JS values through serde-wasm-bindgen) carries the same envelopes.
impl serde::Serialize for RuntimeData {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        encode(self).serialize(serializer)
    }
}

/// `RuntimeData` deserializes from its wire form ([`decode`]); a malformed envelope is
/// a serde error carrying the [`WireError`] text (`$.audio.data: malformed base64`).
impl<'de> serde::Deserialize<'de> for RuntimeData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        decode(&value).map_err(serde::de::Error::custom)
    }
}
