//! The built-in Rust node catalog, one module per family (`remotemedia nodes` lists it).

use crate::node::NodeFactory;

pub mod accumulator;
pub mod audio_basic;
pub mod basic;
pub mod decoder;
pub mod levels;
pub mod mel;
pub mod resample;
pub mod silero_vad;
pub mod speculative_vad;
pub mod speech_events;
pub mod stream;
pub mod text;
pub mod vad;

/// Every built-in node type.
pub fn builtin_factories() -> Vec<NodeFactory> {
    let mut all = Vec::new();
    all.extend(basic::factories());
    all.extend(decoder::factories());
    all.extend(resample::factories());
    all.extend(audio_basic::factories());
    all.extend(levels::factories());
    all.extend(vad::factories());
    all.extend(silero_vad::factories());
    all.extend(speculative_vad::factories());
    all.extend(accumulator::factories());
    all.extend(speech_events::factories());
    all.extend(mel::factories());
    all.extend(text::factories());
    all.extend(crate::remote::factories());
    all
}

use crate::data::{AudioBuffer, RuntimeData};
use crate::node::NodeFailure;

/// The audio inside an item, or a clear error naming what came instead.
pub(crate) fn expect_audio(item: RuntimeData, node: &str) -> Result<AudioBuffer, NodeFailure> {
    match item {
        RuntimeData::Audio(a) => Ok(a),
        other => Err(NodeFailure::new(format!(
            "{node} takes audio, got {}",
            other.kind()
        ))),
    }
}
