//! # remotemedia-worker
//!
//! The glue that runs the RemoteMedia executor (`remotemedia-runtime`) inside a
//! dedicated Web Worker. It is built with wasm-pack (`--target web`) and driven by
//! the SDK's worker entry script (`js-sdk/src/worker/executor-worker.ts`), which owns
//! `onmessage`, checks every message, and calls into this crate.
//!
//! - [`runtime`]: [`WorkerRuntime`], the wasm-bindgen class the worker script uses:
//!   validate, batch runs, sessions, cancellation.
//! - [`boundary`]: JS values in (through serde-wasm-bindgen) and out (keys made once):
//!   manifests, items and results cross as plain objects, never JSON text.
//! - [`python`]: the bridge to the Python (Pyodide) worker: Python nodes become
//!   [`remotemedia_runtime::node::AsyncNode`]s whose calls go over a `MessagePort`.
//! - [`remote`]: nodes on servers (`host`, `RemotePipelineNode`) over a WebSocket to
//!   `remotemedia serve`.
//! - [`request`]: which request the worker is computing (for panic reports and Python).
//! - [`mod@panic`]: a panic hook that keeps the message readable after the trap.
#![deny(missing_docs)]

pub mod boundary;
pub mod panic;
#[cfg(feature = "panic-node")]
pub mod panic_node;
pub mod python;
pub mod remote;
pub mod request;
pub mod runtime;

pub use runtime::{validate_manifest, WorkerRuntime};
