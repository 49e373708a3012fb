//! Neural network models that RemoteMedia nodes run, in plain Rust so that the browser's
//! executor workers and the native CLI compute the same numbers (`docs/models.md`).
//!
//! A crate of its own so that debug builds (tests, npm test's CLI) can optimise it: a
//! forward pass is ten times slower unoptimised. The runtime re-exports it as
//! `remotemedia_runtime::models`.
//!
//! - [`onnx`]: the constant tensors (weights) of an ONNX model file;
//! - [`silero`]: Silero VAD's network (MIT), its forward pass over those weights;
//! - [`store`]: the model files nodes need, and where an executor gets them.
#![deny(missing_docs)]

pub mod onnx;
pub mod silero;
pub mod store;
