//! Float32 samples on the wire as bytes: with serde-wasm-bindgen a `Vec<f32>` would
//! become a JS array of numbers (one boxed value per sample); as bytes it is one
//! `Uint8Array` (bincode: one length-prefixed run). The bytes are the samples in
//! little-endian order, as WebAssembly and x86 store them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Interleaved float32 samples that cross the worker boundary as bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples(pub Vec<f32>);

impl Serialize for Samples {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytemuck::cast_slice(&self.0))
    }
}

impl<'de> Deserialize<'de> for Samples {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
        if bytes.len() % 4 != 0 {
            return Err(serde::de::Error::custom(format!(
                "{} bytes are not a whole number of float32 samples",
                bytes.len()
            )));
        }
        // Copied out of the byte buffer: its alignment is not a float's.
        Ok(Samples(bytemuck::pod_collect_to_vec(&bytes)))
    }
}
