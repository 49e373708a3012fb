//! [`Item`] <-> the runtime's [`RuntimeData`].

use remotemedia_runtime::{AudioBuffer, DType, RuntimeData, Tensor};
use serde_json::Value;

use crate::messages::{Item, RunError};
use crate::samples::Samples;

/// The runtime's item for `item`; [`RunError::Input`] for audio with no channels or a
/// partial frame, metadata or JSON that is not valid JSON, or a tensor whose dtype is
/// unknown or whose size does not match its shape.
pub fn to_runtime(item: Item) -> Result<RuntimeData, RunError> {
    Ok(match item {
        Item::Audio {
            samples,
            sample_rate,
            channels,
            metadata,
        } => {
            let mut audio =
                AudioBuffer::checked(samples.0, sample_rate, channels).map_err(RunError::Input)?;
            if let Some(text) = metadata {
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => audio.metadata = map,
                    _ => {
                        return Err(RunError::Input(
                            "audio metadata must be a JSON object".into(),
                        ))
                    }
                }
            }
            RuntimeData::Audio(audio)
        }
        Item::Text(text) => RuntimeData::Text(text),
        Item::Json(text) => RuntimeData::Json(
            serde_json::from_str(&text).map_err(|e| RunError::Input(format!("not JSON: {e}")))?,
        ),
        Item::Binary(bytes) => RuntimeData::Binary(bytes),
        Item::Tensor { data, shape, dtype } => {
            let dtype = DType::parse(&dtype)
                .ok_or_else(|| RunError::Input(format!("unknown tensor dtype {dtype:?}")))?;
            let shape: Vec<usize> = shape
                .into_iter()
                .map(usize::try_from)
                .collect::<Result<_, _>>()
                .map_err(|_| RunError::Input("tensor dimension too large".into()))?;
            let expected = shape
                .iter()
                .try_fold(dtype.item_size(), |n, &d| n.checked_mul(d));
            if expected != Some(data.len()) {
                return Err(RunError::Input(format!(
                    "tensor of shape {shape:?} ({}) needs {expected:?} bytes, got {}",
                    dtype.name(),
                    data.len()
                )));
            }
            RuntimeData::Tensor(Tensor { dtype, shape, data })
        }
    })
}

/// The [`Item`] for a runtime item (timestamps and stream ids are not carried).
pub fn from_runtime(data: RuntimeData) -> Item {
    match data {
        RuntimeData::Audio(audio) => Item::Audio {
            metadata: (!audio.metadata.is_empty())
                .then(|| Value::Object(audio.metadata).to_string()),
            samples: Samples(audio.samples),
            sample_rate: audio.sample_rate,
            channels: audio.channels,
        },
        RuntimeData::Text(text) => Item::Text(text),
        RuntimeData::Json(value) => Item::Json(value.to_string()),
        RuntimeData::Binary(bytes) => Item::Binary(bytes),
        RuntimeData::Tensor(t) => Item::Tensor {
            data: t.data,
            shape: t.shape.into_iter().map(|d| d as u64).collect(),
            dtype: t.dtype.name().to_string(),
        },
    }
}
