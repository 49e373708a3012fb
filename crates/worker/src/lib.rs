//! # remotemedia-worker
//!
//! The glue that runs the RemoteMedia executor (`remotemedia-runtime`) inside a
//! dedicated Web Worker. It is built with wasm-pack (`--target web`) and driven by
//! the SDK's worker entry script (`js-sdk/src/worker/executor-worker.ts`), which owns
//! `onmessage`, decodes every message without panicking, and calls into this crate.
//!
//! - [`runtime`]: [`WorkerRuntime`], the wasm-bindgen class the worker script uses:
//!   validate, batch runs, sessions, cancellation; results as wire JSON.
//! - [`python`]: the bridge to the Python (Pyodide) worker: Python nodes become
//!   [`remotemedia_runtime::node::AsyncNode`]s whose calls go over a `MessagePort`.
//! - [`clock`]: `performance.now()` for node metrics.
#![deny(missing_docs)]

pub mod clock;
pub mod python;
pub mod runtime;

pub use runtime::{validate_manifest, WorkerRuntime};
