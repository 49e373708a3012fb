//! The RemoteMedia executor for Rust web apps (Yew, Leptos, plain `wasm-bindgen`), as
//! [gloo-worker](https://docs.rs/gloo-worker) workers.
//!
//! - **Batch runs**: a gloo-worker *oneshot* ([`Runner`]): a [`RunRequest`] (manifest
//!   JSON and [`Item`]s) in, a [`RunResult`] or a [`RunError`] out.
//! - **Sessions**: a gloo-worker *reactor* ([`Sessions`]): each bridge is one streaming
//!   session (`Open`, `Push`es, `Close`); dropping it ends the session.
//! - **The app side**: [`RemoteMedia::spawn`], [`RemoteMedia::run`],
//!   [`RemoteMedia::open`], [`Session::push`], [`Session::close`].
//! - **Messages** cross as JS objects ([`JsObjects`], serde-wasm-bindgen), float32
//!   samples as one byte run ([`Samples`]); a message that cannot be read is answered
//!   with [`RunError::Malformed`], never a panic.
//! - **Python nodes** are not available here: a manifest with any is refused with
//!   [`RunError::NeedsPython`] before it runs. The TypeScript SDK (`@remotemedia/web`)
//!   runs them in Pyodide.
//!
//! Each worker's script is a small module that loads this crate's wasm and registers
//! the worker (`js/runner.js`, `js/sessions.js`): build with
//! `wasm-pack build crates/web --target web` and serve the scripts next to `pkg/`.
#![deny(missing_docs)]

mod client;
mod codec;
mod convert;
mod engine;
mod messages;
mod runner;
mod samples;
mod sessions;

pub use client::{RemoteMedia, Session};
pub use codec::JsObjects;
pub use messages::{
    Item, Output, Problem, RunError, RunRequest, RunResult, RunnerInput, SessionInput,
    SessionOutput,
};
pub use runner::{register_runner, Runner};
pub use samples::Samples;
pub use sessions::{register_sessions, SessionScope, Sessions};

#[cfg(all(target_arch = "wasm32", feature = "exports"))]
mod exports {
    use wasm_bindgen::prelude::wasm_bindgen;

    /// Registers the calling worker as the batch-run worker (from `js/runner.js`).
    #[wasm_bindgen(js_name = registerRunner)]
    pub fn register_runner() {
        super::register_runner();
    }

    /// Registers the calling worker as the session worker (from `js/sessions.js`).
    #[wasm_bindgen(js_name = registerSessions)]
    pub fn register_sessions() {
        super::register_sessions();
    }
}
