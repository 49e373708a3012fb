//! The error kinds: the one table of what can go wrong, for the runtime, both CLIs and
//! the SDK. Every error JSON (`{"kind", "name", "message", ...}`, `docs/execution.md`)
//! has one of these `kind`s, the SDK's class for it as `name`, and the kind's own
//! snake_case fields. `remotemedia errors` prints the table; `docs/errors.json` is that
//! output (checked by `tests/catalog.rs`), and the SDK's unit tests check every class
//! against it (`js-sdk/test/errors.test.mjs`).

use serde::Serialize;

/// One kind of error.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ErrorKind {
    /// The error JSON's `kind`.
    pub kind: &'static str,
    /// The SDK's error class, the error JSON's `name`.
    pub name: &'static str,
    /// The kind's own fields beyond `kind`, `name` and `message`.
    pub fields: &'static [&'static str],
    /// When it happens.
    pub doc: &'static str,
}

/// Every kind. The runtime makes `manifest`, `node`, `remote`, `input`, `cancelled` and `closed`;
/// the SDK adds the ones only a browser meets.
pub const ERROR_KINDS: &[ErrorKind] = &[
    ErrorKind {
        kind: "manifest",
        name: "ManifestError",
        fields: &["errors", "warnings"],
        doc: "the manifest is invalid; every problem with its JSON path",
    },
    ErrorKind {
        kind: "node",
        name: "NodeError",
        fields: &["node_id", "node_type", "language", "error", "traceback"],
        doc: "a node failed on an item or while flushing (Python: with its traceback)",
    },
    ErrorKind {
        kind: "input",
        name: "InputError",
        fields: &[],
        doc: "an input item could not be read (not wire data, a file that is not audio)",
    },
    ErrorKind {
        kind: "remote",
        name: "RemoteError",
        fields: &["node_id", "node_type", "server", "code", "remote"],
        doc: "a node that runs on a server failed there (`remote`: the server's error JSON), or the server could not be reached, timed out or went away (`code`: unavailable, timeout, unauthenticated, refused, closed, or the server's error kind)",
    },
    ErrorKind {
        kind: "cancelled",
        name: "AbortError",
        fields: &[],
        doc: "the run was cancelled (the caller's AbortSignal)",
    },
    ErrorKind {
        kind: "closed",
        name: "SessionClosedError",
        fields: &[],
        doc: "a push or close on a session that is closed",
    },
    ErrorKind {
        kind: "timeout",
        name: "TimeoutError",
        fields: &["timeout_ms"],
        doc: "the run took longer than its timeout (SDK)",
    },
    ErrorKind {
        kind: "worker_crashed",
        name: "WorkerCrashedError",
        fields: &[],
        doc: "a worker died or could not start; others go on (SDK)",
    },
    ErrorKind {
        kind: "asset",
        name: "AssetError",
        fields: &["url", "status", "content_type"],
        doc: "a runtime file could not be fetched, or is not that file (SDK)",
    },
    ErrorKind {
        kind: "unsupported_environment",
        name: "UnsupportedEnvironmentError",
        fields: &[],
        doc: "no Web Workers or WebAssembly here (server-side rendering, Node.js) (SDK)",
    },
    ErrorKind {
        kind: "capture",
        name: "CaptureError",
        fields: &[],
        doc: "the microphone was refused or missing, or the audio graph failed (SDK)",
    },
    ErrorKind {
        kind: "error",
        name: "RemoteMediaError",
        fields: &[],
        doc: "anything else",
    },
];

/// The SDK class (`name`) of `kind`; `RemoteMediaError` for a kind not in the table.
pub fn class_of(kind: &str) -> &'static str {
    ERROR_KINDS
        .iter()
        .find(|k| k.kind == kind)
        .map_or("RemoteMediaError", |k| k.name)
}
