//! # remotemedia-runtime
//!
//! The engine of RemoteMedia Web: it reads RemoteMedia pipeline manifests (JSON
//! graphs of audio, text and math nodes), validates them, and executes them in
//! deterministic topological order, as batch runs or streaming sessions. It is
//! pure Rust with no wasm-bindgen, so the same code runs natively (the
//! `remotemedia` CLI, tests, benchmarks) and inside browser workers
//! (`wasm32-unknown-unknown`, wrapped by the `remotemedia-worker` crate).
//!
//! Modules, one concept each:
//! - [`manifest`]: manifest v1 types; [`validate`]: every problem at once, with paths;
//! - [`graph`]: adjacency and topological order;
//! - [`data`]: `RuntimeData`; [`wire`]: its JSON wire form (base64 float32, envelopes);
//! - [`node`]: the `Node` trait and the async `ExternalNodes` hook (Python);
//! - [`python_protocol`]: the requests to the `remotemedia` Python package's bridge;
//!   [`native_python`]: CPython through PyO3 (feature `python`) as that hook natively;
//! - [`package`]: `.rmpkg` packages (a zip of a manifest and its files);
//! - [`params`], [`registry`]: declared parameters and the node-type registry;
//! - [`media`]: audio files in (containers, codecs, codec delay), streamed;
//! - [`models`]: neural networks in plain Rust (Silero VAD), weights from ONNX files;
//! - [`nodes`]: the built-in nodes; [`catalog`]: their generated documentation;
//! - [`executor`]: batch runs and sessions, metrics, cancellation;
//! - [`limits`]: the sizes, rates and ratios input may ask for.
//!
//! ```
//! use remotemedia_runtime::{executor::{CancelFlag, Executor}, data::RuntimeData};
//! let manifest = serde_json::json!({
//!     "version": "v1", "metadata": {"name": "double"},
//!     "nodes": [{"id": "x2", "node_type": "MultiplyNode", "params": {"factor": 2}}],
//! });
//! let executor = Executor::default();
//! let manifest = executor.parse(&manifest).unwrap();
//! let inputs = vec![RuntimeData::Json(5.into())];
//! let result = pollster::block_on(executor.run(&manifest, inputs, &CancelFlag::new())).unwrap();
//! assert_eq!(result.to_json()["outputs"], serde_json::json!([10]));
//! ```
#![deny(missing_docs)]

pub mod catalog;
pub mod clock;
pub mod data;
pub mod error_kinds;
pub mod executor;
pub mod graph;
pub mod limits;
pub mod manifest;
pub mod media;
pub use remotemedia_models as models;
pub mod native_python;
pub mod node;
pub mod nodes;
pub mod package;
pub mod params;
pub mod progress;
pub mod python_protocol;
pub mod registry;
pub mod remote;
pub mod remote_json;
pub mod shape;
pub mod suggest;
pub mod validate;
pub mod wire;

pub use data::{AudioBuffer, DType, RuntimeData, Tensor};
pub use executor::{CancelFlag, Executor, RunError, RunResult, Session};
pub use limits::Limits;
pub use manifest::Manifest;
pub use registry::NodeRegistry;
