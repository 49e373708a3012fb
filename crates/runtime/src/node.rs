//! What a node is: the synchronous [`Node`] trait for Rust nodes and the
//! asynchronous [`AsyncNode`]/[`ExternalNodes`] pair through which nodes that live
//! elsewhere (the Python worker) are plugged into the executor.

use std::future::Future;
use std::pin::Pin;

use crate::data::RuntimeData;
use crate::manifest::{Manifest, NodeSpec};
use crate::params::{ParamError, ParamSpec, Params};
use crate::progress::InputProgress;
use crate::shape::Shape;

/// A boxed future that need not be `Send` (wasm workers are single-threaded).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why a node failed on an item. The executor adds the node id and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFailure {
    /// Human-readable reason.
    pub message: String,
    /// The Python traceback, for Python nodes.
    pub traceback: Option<String>,
    /// For a node that runs on a server: which, and what it answered (boxed: failures
    /// stay small).
    pub remote: Option<Box<RemoteFailure>>,
}

/// How a remote node failed, beside its message: becomes [`crate::RunError::Remote`] (nodes on servers,
/// [`crate::remote`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFailure {
    /// The server, as the manifest wrote it.
    pub server: String,
    /// `unavailable` (no connection, or it broke), `timeout`, `unauthenticated`,
    /// `refused` (the server would not open a session: too many, shutting down), `closed`
    /// (the server ended the session), `cancelled` (its run was cancelled while it waited),
    /// or the `kind` of the server's own error (`node`, `manifest`, `input`).
    pub code: String,
    /// The server's error JSON (`{"kind", "name", "message", ...}`), when it sent one.
    pub remote: Option<serde_json::Value>,
}

impl NodeFailure {
    /// Whether this is a remote node's connection failing (`unavailable`, `closed`), not
    /// the server's work: what a node's `reconnect` opens a new session for.
    pub fn is_broken_connection(&self) -> bool {
        self.remote
            .as_ref()
            .is_some_and(|r| matches!(r.code.as_str(), "unavailable" | "closed"))
    }

    /// A failure of a node on `server` ([`RemoteFailure`]): `code` as there, and the
    /// server's error JSON when it sent one.
    pub fn remote(
        server: &str,
        code: &str,
        message: impl Into<String>,
        remote: Option<serde_json::Value>,
    ) -> Self {
        NodeFailure {
            message: message.into(),
            traceback: None,
            remote: Some(Box::new(RemoteFailure {
                server: server.to_owned(),
                code: code.to_owned(),
                remote,
            })),
        }
    }

    /// A failure with a message and no traceback.
    pub fn new(message: impl Into<String>) -> Self {
        NodeFailure {
            message: message.into(),
            traceback: None,
            remote: None,
        }
    }
}

impl From<String> for NodeFailure {
    fn from(message: String) -> Self {
        NodeFailure::new(message)
    }
}

impl From<&str> for NodeFailure {
    fn from(message: &str) -> Self {
        NodeFailure::new(message)
    }
}

/// A Rust node. One instance lives for one run or session, so fields are the
/// node's state and never leak into another run.
pub trait Node {
    /// Turns one input item into 0..n output items, appended to `out`.
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure>;

    /// Called once after the last item: streaming nodes (chunkers, accumulators,
    /// resamplers) emit what they still hold. The default emits nothing.
    fn flush(&mut self, _out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        Ok(())
    }

    /// The last step of a run: processes the final `items` and flushes. The
    /// default is `process` for each item, then `flush`. Nodes that would otherwise
    /// split their output at the end (the resampler's filter tail) override it to
    /// emit the final items and the tail as one item, so a batch run over one file
    /// yields one item.
    fn finish(
        &mut self,
        items: Vec<RuntimeData>,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        for item in items {
            self.process(item, out)?;
        }
        self.flush(out)
    }

    /// Whether the node still owes output for the items it was given, to be asked for
    /// piece by piece with [`Node::next_piece`]. For nodes whose output for one item is
    /// too large to hold at once (a decoder's hour of audio): the executor sends each
    /// piece through the rest of the graph before it asks for the next, so memory holds
    /// a piece, not the whole. The default owes nothing.
    fn owes_output(&self) -> bool {
        false
    }

    /// Appends the next piece of owed output to `out` (see [`Node::owes_output`]). The
    /// executor calls it after `process` or `finish` for as long as the node owes
    /// output. A node's own `process` and `flush` give what is still owed first, so
    /// nothing is lost or reordered when nobody asks; its `finish` may leave the last
    /// item's pieces owed, which the executor then asks for. The default appends
    /// nothing.
    fn next_piece(&mut self, _out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        Ok(())
    }

    /// How far it is through its current input, for progress reports (a decoder's
    /// frames of its file). The default has nothing to tell.
    fn input_progress(&self) -> Option<InputProgress> {
        None
    }

    /// Takes new parameter values while a session runs (live tuning): `params` are all
    /// of them, the changed ones merged over the current, already type-checked against
    /// the node type's declared parameters. Buffered state is kept. The default refuses:
    /// most nodes fix their parameters when created.
    fn reconfigure(
        &mut self,
        _params: crate::params::Params<'_>,
    ) -> Result<(), crate::params::ParamError> {
        Err(crate::params::ParamError::new(
            "params",
            "this node type's parameters cannot be changed while it runs",
        ))
    }
}

/// [`Node::finish`] for nodes whose final item and flush belong together: calls
/// `step(node, item, is_last, out)` for every item (`is_last` on the final one), or
/// `flush` when the step has no items.
pub fn finish_marking_last<N: Node + ?Sized>(
    node: &mut N,
    items: Vec<RuntimeData>,
    out: &mut Vec<RuntimeData>,
    mut step: impl FnMut(&mut N, RuntimeData, bool, &mut Vec<RuntimeData>) -> Result<(), NodeFailure>,
) -> Result<(), NodeFailure> {
    if items.is_empty() {
        return node.flush(out);
    }
    let count = items.len();
    for (i, item) in items.into_iter().enumerate() {
        step(node, item, i + 1 == count, out)?;
    }
    Ok(())
}

/// A node implemented outside this crate and reached asynchronously (a Python node
/// in the Pyodide worker). Items come in batches to keep calls few.
pub trait AsyncNode {
    /// Processes a batch of items in order; returns all outputs in order.
    fn process(
        &mut self,
        inputs: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>>;

    /// After the last item: emits what the node still holds and releases it
    /// (Python's `cleanup`).
    fn flush(&mut self) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>>;

    /// The last step of a run: the final `items` (maybe none), then the flush, as
    /// [`Node::finish`] is for Rust nodes. The default is `process` then `flush`; a node
    /// on a server sends the items as its final chunk, so the server's nodes finish
    /// exactly as they would here.
    fn finish(
        &mut self,
        items: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move {
            let mut out = if items.is_empty() {
                Vec::new()
            } else {
                self.process(items).await?
            };
            out.extend(self.flush().await?);
            Ok(out)
        })
    }
}

/// A provider of external node types (the Python worker).
pub trait ExternalNodes {
    /// The language name reported in errors (`"python"`).
    fn language(&self) -> &str;

    /// Node types it provides without looking at a manifest (built-ins).
    fn node_types(&self) -> Vec<String>;

    /// Creates one node instance for a run or session of `manifest`
    /// (Python's `initialize` happens here). Errors if the type is unknown or
    /// the node fails to start.
    fn create<'a>(
        &'a self,
        manifest: &'a Manifest,
        node: &'a NodeSpec,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>>;
}

/// Builds a fresh node instance from its params (type-checked already).
pub type Constructor = fn(Params<'_>) -> Result<Box<dyn Node>, ParamError>;

/// One registered node type.
#[derive(Clone, Copy)]
pub struct NodeFactory {
    /// The `node_type` string of manifests.
    pub node_type: &'static str,
    /// Other names accepted for it (`PassThroughNode` for `PassThrough`).
    pub aliases: &'static [&'static str],
    /// One line on what it does: input -> output.
    pub summary: &'static str,
    /// Declared parameters.
    pub params: &'static [ParamSpec],
    /// What its output items look like: what it makes of the inputs it handles (items a
    /// node passes on unchanged, as its summary says, keep their own shape).
    pub output: Shape,
    /// Constructor.
    pub create: Constructor,
}

impl std::fmt::Debug for NodeFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeFactory")
            .field("node_type", &self.node_type)
            .finish()
    }
}
