//! The original SDK's protobuf data to and from this runtime's: `DataBuffer` and
//! [`RuntimeData`], `PipelineManifest` and the manifest JSON of `docs/manifest.md`, and a
//! run's outputs as a `data_outputs` map.
//!
//! Every conversion of what a client sent is checked: a wrong byte count, an unknown
//! dtype, a shape whose element count overflows, a sample rate of 0 Hz each give an error
//! naming the field, never a panic.

use std::collections::HashMap;

use remotemedia_runtime::data::{f32_to_le_bytes, le_bytes_to_f32, AudioBuffer, DType, Tensor};
use remotemedia_runtime::executor::Output;
use remotemedia_runtime::RuntimeData;
use serde_json::{json, Map, Value};

use crate::proto::{self, data_buffer::DataType, DataBuffer};

/// This project's extension, which the original's clients never send: a chunk whose
/// buffer carries `metadata["remotemedia.final"] = "true"` is the session's last. Its
/// last item and the pipeline's flush form one step, as at the end of a batch run here,
/// so a node offloaded from a batch run answers exactly as it would locally; then the
/// session closes as on CLOSE.
pub const FINAL_CHUNK: &str = "remotemedia.final";

/// A client's `DataBuffer` as one runtime item.
///
/// - `audio`: interleaved little-endian samples in `format` (F32, or UNSPECIFIED read as
///   F32; I16 and I32 scaled to [-1, 1)); `num_samples`, when not 0, must be the number of
///   samples (all channels) or of frames; `metadata_json` becomes the item's metadata.
/// - `json`: the payload parsed (a JSON string becomes a text item, as on the wire);
///   `text`: UTF-8 bytes; `binary`: bytes.
/// - `tensor` (F32, I32, I8, U8) and `numpy` (any dtype this runtime has, C order): a
///   tensor whose byte count must match its shape.
///
/// Errors: a readable message for a buffer with no data, `video`, `control` and `file`
/// (unsupported: a server does not read client-named paths), and any inconsistency.
pub fn buffer_to_data(buffer: &DataBuffer) -> Result<RuntimeData, String> {
    match &buffer.data_type {
        None => Err("the DataBuffer holds no data (none of its data_type fields is set)".into()),
        Some(DataType::Audio(audio)) => audio_in(audio).map(RuntimeData::Audio),
        Some(DataType::Json(data)) => {
            let value: Value = serde_json::from_str(&data.json_payload)
                .map_err(|e| format!("json.json_payload is not JSON: {e}"))?;
            Ok(match value {
                Value::String(text) => RuntimeData::Text(text),
                other => RuntimeData::Json(other),
            })
        }
        Some(DataType::Text(text)) => {
            if !matches!(
                text.encoding.to_ascii_lowercase().as_str(),
                "" | "utf-8" | "utf8"
            ) {
                return Err(format!(
                    "text.encoding \"{}\" is not supported (only UTF-8)",
                    text.encoding
                ));
            }
            String::from_utf8(text.text_data.clone())
                .map(RuntimeData::Text)
                .map_err(|e| format!("text.text_data is not UTF-8: {e}"))
        }
        Some(DataType::Binary(binary)) => Ok(RuntimeData::Binary(binary.data.clone())),
        Some(DataType::Tensor(tensor)) => {
            let dtype = match proto::TensorDtype::try_from(tensor.dtype) {
                Ok(proto::TensorDtype::F32) => DType::Float32,
                Ok(proto::TensorDtype::I32) => DType::Int32,
                Ok(proto::TensorDtype::I8) => DType::Int8,
                Ok(proto::TensorDtype::U8) => DType::Uint8,
                Ok(proto::TensorDtype::F16) => {
                    return Err("tensor.dtype F16 is not supported (send F32)".into())
                }
                _ => return Err(format!("tensor.dtype {} is not a dtype", tensor.dtype)),
            };
            tensor_in(dtype, &tensor.shape, &tensor.data, "tensor").map(RuntimeData::Tensor)
        }
        Some(DataType::Numpy(array)) => {
            let dtype = DType::parse(&array.dtype)
                .ok_or_else(|| format!("numpy.dtype \"{}\" is not supported", array.dtype))?;
            if !array.strides.is_empty() && !is_c_order(&array.shape, &array.strides, dtype) {
                return Err("numpy arrays must be C-contiguous (send np.ascontiguousarray)".into());
            }
            tensor_in(dtype, &array.shape, &array.data, "numpy").map(RuntimeData::Tensor)
        }
        Some(DataType::Video(_)) => Err("video frames are not supported by this runtime".into()),
        Some(DataType::Control(_)) => {
            Err("control messages are not supported by this runtime".into())
        }
        Some(DataType::File(_)) => Err(
            "file references are not supported: send the file's bytes as a binary buffer".into(),
        ),
    }
}

fn audio_in(audio: &proto::AudioBuffer) -> Result<AudioBuffer, String> {
    let format = proto::AudioFormat::try_from(audio.format)
        .map_err(|_| format!("audio.format {} is not a format", audio.format))?;
    let bytes = &audio.samples;
    let width = match format {
        proto::AudioFormat::Unspecified | proto::AudioFormat::F32 | proto::AudioFormat::I32 => 4,
        proto::AudioFormat::I16 => 2,
    };
    if !bytes.len().is_multiple_of(width) {
        return Err(format!(
            "audio.samples has {} bytes, not a whole number of {width}-byte samples",
            bytes.len()
        ));
    }
    let samples: Vec<f32> = match format {
        proto::AudioFormat::Unspecified | proto::AudioFormat::F32 => le_bytes_to_f32(bytes),
        proto::AudioFormat::I16 => bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect(),
        proto::AudioFormat::I32 => bytes
            .chunks_exact(4)
            .map(|b| {
                (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2147483648.0) as f32
            })
            .collect(),
    };
    let channels = u16::try_from(audio.channels)
        .map_err(|_| format!("audio.channels {} is over {}", audio.channels, u16::MAX))?;
    let count = samples.len() as u64;
    if audio.num_samples != 0
        && audio.num_samples != count
        && audio.num_samples.checked_mul(u64::from(channels)) != Some(count)
    {
        return Err(format!(
            "audio.num_samples is {} but audio.samples holds {count} samples",
            audio.num_samples
        ));
    }
    let mut buffer = AudioBuffer::checked(samples, audio.sample_rate, channels)
        .map_err(|e| format!("audio: {e}"))?;
    if let Some(meta) = &audio.metadata_json {
        match serde_json::from_slice::<Value>(meta) {
            Ok(Value::Object(map)) => buffer.metadata = map,
            Ok(_) => return Err("audio.metadata_json must be a JSON object".into()),
            Err(e) => return Err(format!("audio.metadata_json is not JSON: {e}")),
        }
    }
    Ok(buffer)
}

fn tensor_in(dtype: DType, shape: &[u64], data: &[u8], field: &str) -> Result<Tensor, String> {
    let shape: Vec<usize> = shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("{field}.shape has a dimension of {d}")))
        .collect::<Result<_, _>>()?;
    let expected = shape
        .iter()
        .try_fold(dtype.item_size(), |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("{field}.shape {shape:?} holds more elements than memory can"))?;
    if expected != data.len() {
        return Err(format!(
            "{field}.data has {} bytes but shape {shape:?} of {} needs {expected}",
            data.len(),
            dtype.name()
        ));
    }
    Ok(Tensor {
        dtype,
        shape,
        data: data.to_vec(),
    })
}

/// Whether `strides` (bytes) are those of a C-order array of `shape`.
fn is_c_order(shape: &[u64], strides: &[i64], dtype: DType) -> bool {
    if shape.len() != strides.len() {
        return false;
    }
    let mut step = dtype.item_size() as i64;
    for (&dim, &stride) in shape.iter().zip(strides).rev() {
        if dim > 1 && stride != step {
            return false;
        }
        step = step.saturating_mul(i64::try_from(dim).unwrap_or(i64::MAX));
    }
    true
}

/// One runtime item as a `DataBuffer`: audio as F32 (`num_samples` counts every
/// channel's samples; the item's metadata in `metadata_json`, its timestamp and stream id
/// in the buffer's `metadata` as `timestamp_us` and `stream_id`), JSON as `json`, text as
/// `text` (UTF-8), bytes as `binary`, a tensor as `tensor` when the proto has its dtype,
/// otherwise as `numpy` (C order).
pub fn data_to_buffer(data: &RuntimeData) -> DataBuffer {
    let mut metadata = HashMap::new();
    let data_type = match data {
        RuntimeData::Audio(audio) => {
            if let Some(t) = audio.timestamp_us {
                metadata.insert("timestamp_us".into(), t.to_string());
            }
            if let Some(id) = &audio.stream_id {
                metadata.insert("stream_id".into(), id.clone());
            }
            DataType::Audio(proto::AudioBuffer {
                samples: f32_to_le_bytes(&audio.samples),
                sample_rate: audio.sample_rate,
                channels: u32::from(audio.channels),
                format: proto::AudioFormat::F32 as i32,
                num_samples: audio.samples.len() as u64,
                metadata_json: (!audio.metadata.is_empty()).then(|| {
                    Value::Object(audio.metadata.clone())
                        .to_string()
                        .into_bytes()
                }),
            })
        }
        RuntimeData::Json(value) => DataType::Json(proto::JsonData {
            json_payload: value.to_string(),
            schema_type: String::new(),
        }),
        RuntimeData::Text(text) => DataType::Text(proto::TextBuffer {
            text_data: text.as_bytes().to_vec(),
            encoding: "utf-8".into(),
            ..Default::default()
        }),
        RuntimeData::Binary(bytes) => DataType::Binary(proto::BinaryBuffer {
            data: bytes.clone(),
            mime_type: "application/octet-stream".into(),
        }),
        RuntimeData::Tensor(tensor) => tensor_out(tensor),
    };
    DataBuffer {
        data_type: Some(data_type),
        metadata,
    }
}

fn tensor_out(tensor: &Tensor) -> DataType {
    let shape: Vec<u64> = tensor.shape.iter().map(|&d| d as u64).collect();
    let dtype = match tensor.dtype {
        DType::Float32 => Some(proto::TensorDtype::F32),
        DType::Int32 => Some(proto::TensorDtype::I32),
        DType::Int8 => Some(proto::TensorDtype::I8),
        DType::Uint8 => Some(proto::TensorDtype::U8),
        _ => None,
    };
    match dtype {
        Some(dtype) => DataType::Tensor(proto::TensorBuffer {
            data: tensor.data.clone(),
            shape,
            dtype: dtype as i32,
            layout: "row-major".into(),
        }),
        None => {
            let mut strides = vec![0i64; shape.len()];
            let mut step = tensor.dtype.item_size() as i64;
            for (stride, &dim) in strides.iter_mut().zip(&tensor.shape).rev() {
                *stride = step;
                step = step.saturating_mul(dim as i64);
            }
            DataType::Numpy(proto::NumpyBuffer {
                data: tensor.data.clone(),
                shape,
                dtype: tensor.dtype.name().into(),
                strides,
                c_contiguous: true,
                f_contiguous: tensor.shape.iter().filter(|&&d| d > 1).count() <= 1,
            })
        }
    }
}

/// Sink outputs as the proto's `data_outputs` map: a node's first item under its id, each
/// later one under `id:1`, `id:2`, ... (node ids cannot contain `:`), so a client that
/// reads `data_outputs["calc"]` gets the first and nothing is lost.
pub fn outputs_map(outputs: &[Output]) -> HashMap<String, DataBuffer> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut map = HashMap::with_capacity(outputs.len());
    for output in outputs {
        let n = counts.entry(output.node_id.as_str()).or_default();
        let key = if *n == 0 {
            output.node_id.clone()
        } else {
            format!("{}:{n}", output.node_id)
        };
        *n += 1;
        map.insert(key, data_to_buffer(&output.data));
    }
    map
}

/// The proto's `PipelineManifest` as the manifest JSON this runtime validates: each
/// node's `params` string parsed (empty means `{}`), its `runtime_hint` as the original's
/// name (`cpython`, `rust_python`, `cpython_wasm`, `auto`), its `host` kept (validation
/// reports what it means here). `is_streaming`, capabilities and type hints are dropped.
///
/// Errors: a node whose `params` is not a JSON object, naming `nodes[i].params`.
pub fn manifest_to_json(manifest: &proto::PipelineManifest) -> Result<Value, String> {
    let mut nodes = Vec::with_capacity(manifest.nodes.len());
    for (i, node) in manifest.nodes.iter().enumerate() {
        let params = if node.params.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            match serde_json::from_str::<Value>(&node.params) {
                Ok(Value::Object(map)) => Value::Object(map),
                Ok(_) => return Err(format!("nodes[{i}].params must be a JSON object")),
                Err(e) => return Err(format!("nodes[{i}].params is not JSON: {e}")),
            }
        };
        let mut out = json!({ "id": node.id, "node_type": node.node_type, "params": params });
        let hint = match proto::RuntimeHint::try_from(node.runtime_hint) {
            Ok(proto::RuntimeHint::Rustpython) => Some("rust_python"),
            Ok(proto::RuntimeHint::Cpython) => Some("cpython"),
            Ok(proto::RuntimeHint::CpythonWasm) => Some("cpython_wasm"),
            Ok(proto::RuntimeHint::Auto) => Some("auto"),
            _ => None,
        };
        if let Some(hint) = hint {
            out["runtime_hint"] = hint.into();
        }
        if !node.host.is_empty() {
            out["host"] = node.host.clone().into();
        }
        nodes.push(out);
    }
    let metadata = manifest.metadata.as_ref();
    let mut meta = json!({ "name": metadata.map(|m| m.name.clone()).unwrap_or_default() });
    if let Some(description) = metadata.map(|m| &m.description).filter(|d| !d.is_empty()) {
        meta["description"] = description.clone().into();
    }
    let connections: Vec<Value> = manifest
        .connections
        .iter()
        .map(|c| json!({ "from": c.from, "to": c.to }))
        .collect();
    Ok(json!({
        "version": manifest.version,
        "metadata": meta,
        "nodes": nodes,
        "connections": connections,
    }))
}

/// Per-node metrics (`(node id, metrics)`) as the proto's `node_metrics` map: time in the
/// node (ms) and items it received.
pub fn node_metrics(
    metrics: impl IntoIterator<Item = (String, remotemedia_runtime::executor::NodeMetrics)>,
) -> HashMap<String, proto::NodeMetrics> {
    metrics
        .into_iter()
        .map(|(id, m)| {
            let node = proto::NodeMetrics {
                execution_time_ms: m.time_ms,
                items_processed: m.items_in,
                ..Default::default()
            };
            (id, node)
        })
        .collect()
}

/// A manifest's JSON as the proto's `PipelineManifest` (what a client sends): `params` as
/// JSON text, `runtime_hint` and `host` as the proto has them.
///
/// Errors: not an object, no `nodes` array, a `python` section (the proto has no field for
/// Python source; the server's own node types are what it runs).
pub fn json_to_manifest(manifest: &Value) -> Result<proto::PipelineManifest, String> {
    let root = manifest
        .as_object()
        .ok_or("a manifest must be a JSON object")?;
    if root.get("python").is_some_and(|p| !p.is_null()) {
        return Err("a manifest with a python section cannot be sent to a server: the protocol has no field for Python source (use the server's built-in node types)".into());
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let nodes = root
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or("a manifest needs a nodes array")?
        .iter()
        .map(|node| {
            let hint = match node.get("runtime_hint").and_then(Value::as_str) {
                Some("cpython" | "python") => proto::RuntimeHint::Cpython,
                Some("rust_python") => proto::RuntimeHint::Rustpython,
                Some("cpython_wasm") => proto::RuntimeHint::CpythonWasm,
                Some("auto") => proto::RuntimeHint::Auto,
                _ => proto::RuntimeHint::Unspecified,
            };
            proto::NodeManifest {
                id: text(node.get("id")),
                node_type: text(node.get("node_type")),
                params: node
                    .get("params")
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
                host: text(node.get("host")),
                runtime_hint: hint as i32,
                ..Default::default()
            }
        })
        .collect();
    let connections = root
        .get("connections")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|c| proto::Connection {
                    from: text(c.get("from")),
                    to: text(c.get("to")),
                })
                .collect()
        })
        .unwrap_or_default();
    let meta = root.get("metadata");
    Ok(proto::PipelineManifest {
        version: text(root.get("version")),
        metadata: Some(proto::ManifestMetadata {
            name: text(meta.and_then(|m| m.get("name"))),
            description: text(meta.and_then(|m| m.get("description"))),
            created_at: String::new(),
        }),
        nodes,
        connections,
    })
}

/// A `data_outputs` map back as `(node id, item)`, in the order [`outputs_map`] wrote
/// them for each node (`id`, `id:1`, `id:2`, ...), nodes in the order of their ids.
///
/// Errors: a buffer that cannot be read (see [`buffer_to_data`]).
pub fn outputs_from_map(
    map: &HashMap<String, DataBuffer>,
) -> Result<Vec<(String, RuntimeData)>, String> {
    let mut keys: Vec<(&str, usize, &String)> = map
        .keys()
        .map(|k| match k.rsplit_once(':') {
            Some((node, n)) => (node, n.parse().unwrap_or(usize::MAX), k),
            None => (k.as_str(), 0, k),
        })
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|(node, _, k)| {
            let item =
                buffer_to_data(&map[k]).map_err(|e| format!("data_outputs[\"{k}\"]: {e}"))?;
            Ok((node.to_owned(), item))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(samples: Vec<u8>, format: proto::AudioFormat, num_samples: u64) -> DataBuffer {
        DataBuffer {
            data_type: Some(DataType::Audio(proto::AudioBuffer {
                samples,
                sample_rate: 16000,
                channels: 2,
                format: format as i32,
                num_samples,
                metadata_json: None,
            })),
            metadata: HashMap::new(),
        }
    }

    #[test]
    fn audio_formats_round_trip_and_scale() {
        let i16s: Vec<u8> = [i16::MIN, 0, 16384, -16384]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let RuntimeData::Audio(a) =
            buffer_to_data(&audio(i16s, proto::AudioFormat::I16, 4)).unwrap()
        else {
            panic!("not audio")
        };
        assert_eq!(a.samples, vec![-1.0, 0.0, 0.5, -0.5]);
        assert_eq!((a.frames(), a.channels), (2, 2));
        let back = data_to_buffer(&RuntimeData::Audio(a.clone()));
        assert_eq!(buffer_to_data(&back).unwrap(), RuntimeData::Audio(a));
    }

    #[test]
    fn inconsistent_buffers_are_errors_not_panics() {
        let cases = [
            (
                audio(vec![0; 7], proto::AudioFormat::F32, 0),
                "whole number",
            ),
            (audio(vec![0; 8], proto::AudioFormat::F32, 5), "num_samples"),
            (audio(vec![0; 6], proto::AudioFormat::I16, 0), "frames"),
            (DataBuffer::default(), "holds no data"),
        ];
        for (buffer, wanted) in cases {
            let e = buffer_to_data(&buffer).unwrap_err();
            assert!(e.contains(wanted), "{e}");
        }
        let mut zero_rate = audio(vec![0; 8], proto::AudioFormat::F32, 0);
        if let Some(DataType::Audio(a)) = &mut zero_rate.data_type {
            a.sample_rate = 0;
        }
        assert!(buffer_to_data(&zero_rate)
            .unwrap_err()
            .contains("sample rate"));
        let huge = DataBuffer {
            data_type: Some(DataType::Numpy(proto::NumpyBuffer {
                data: vec![0; 8],
                shape: vec![1 << 63, 1 << 62],
                dtype: "float64".into(),
                ..Default::default()
            })),
            metadata: HashMap::new(),
        };
        assert!(buffer_to_data(&huge).unwrap_err().contains("more elements"));
    }

    #[test]
    fn tensors_keep_dtype_shape_and_bytes() {
        let t = Tensor {
            dtype: DType::Int16,
            shape: vec![2, 3],
            data: (0u8..12).collect(),
        };
        let buffer = data_to_buffer(&RuntimeData::Tensor(t.clone()));
        let Some(DataType::Numpy(n)) = &buffer.data_type else {
            panic!("int16 goes as numpy")
        };
        assert_eq!(n.strides, vec![6, 2]);
        assert_eq!(buffer_to_data(&buffer).unwrap(), RuntimeData::Tensor(t));
    }

    #[test]
    fn outputs_keep_every_item() {
        let out = |id: &str, v: i64| Output {
            node_id: id.into(),
            data: RuntimeData::Json(v.into()),
        };
        let map = outputs_map(&[out("a", 1), out("b", 2), out("a", 3)]);
        let items = outputs_from_map(&map).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[1], ("a".to_string(), RuntimeData::Json(3.into())));
        let json = |k: &str| buffer_to_data(&map[k]).unwrap();
        assert_eq!(json("a"), RuntimeData::Json(1.into()));
        assert_eq!(json("a:1"), RuntimeData::Json(3.into()));
        assert_eq!(json("b"), RuntimeData::Json(2.into()));
    }

    #[test]
    fn manifest_params_are_parsed_and_checked() {
        let mut m = proto::PipelineManifest {
            version: "v1".into(),
            nodes: vec![proto::NodeManifest {
                id: "calc".into(),
                node_type: "CalculatorNode".into(),
                params: r#"{"operation": "add", "value": 5.0}"#.into(),
                runtime_hint: proto::RuntimeHint::Cpython as i32,
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = manifest_to_json(&m).unwrap();
        assert_eq!(json["nodes"][0]["params"]["value"], 5.0);
        assert_eq!(json["nodes"][0]["runtime_hint"], "cpython");
        let back = json_to_manifest(&json).unwrap();
        assert_eq!(
            back.nodes[0].runtime_hint,
            proto::RuntimeHint::Cpython as i32
        );
        assert_eq!(manifest_to_json(&back).unwrap(), json);
        m.nodes[0].params = "[1]".into();
        assert!(manifest_to_json(&m)
            .unwrap_err()
            .contains("nodes[0].params"));
    }
}
