//! Neural network models that nodes run, in plain Rust so that the browser's executor
//! workers and the native CLI compute the same numbers (`docs/models.md`).
//!
//! - [`onnx`]: the constant tensors (weights) of an ONNX model file;
//! - [`silero`]: Silero VAD's network (MIT), its forward pass over those weights.

pub mod onnx;
pub mod silero;
