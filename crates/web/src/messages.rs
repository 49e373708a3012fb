//! The messages between a Rust web app and its RemoteMedia workers: what a batch run
//! takes and gives, what a session takes and gives, and the typed errors. All are serde
//! data readable by any serde codec (JSON values travel as JSON text, which bincode
//! could not carry otherwise).

use serde::{Deserialize, Serialize};

use crate::samples::Samples;

/// One item into or out of a pipeline (`docs/wire-format.md` describes the same kinds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Item {
    /// Interleaved float32 audio: `samples.0.len() / channels` frames at `sample_rate` Hz.
    Audio {
        /// Interleaved samples, nominally in [-1, 1].
        samples: Samples,
        /// Frames per second, in Hz.
        sample_rate: u32,
        /// Interleaved channels (at least 1).
        channels: u16,
        /// Node annotations as JSON text (for example `{"vad": {...}}`), if any.
        metadata: Option<String>,
    },
    /// UTF-8 text.
    Text(String),
    /// Any other JSON value, as JSON text.
    Json(String),
    /// Raw bytes, such as a whole audio file (WAV, MP3, FLAC, Ogg Vorbis).
    Binary(#[serde(with = "serde_bytes")] Vec<u8>),
    /// An n-dimensional array: little-endian `data` of `dtype` (`float32`, `int16`, ...).
    Tensor {
        /// `product(shape) * item size` bytes.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
        /// Dimensions, outermost first.
        shape: Vec<u64>,
        /// numpy's name of the element type.
        dtype: String,
    },
}

/// A batch run: `manifest` (JSON text, `docs/manifest.md`) on `inputs`, given in
/// order to every source node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// The manifest, as JSON text.
    pub manifest: String,
    /// The input items.
    pub inputs: Vec<Item>,
}

/// One item a sink node produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The sink node's id.
    pub node_id: String,
    /// The item.
    pub data: Item,
}

/// What a batch run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Every sink item, in the order produced.
    pub outputs: Vec<Output>,
    /// Node ids in execution (topological) order.
    pub execution_order: Vec<String>,
    /// Time the run took inside the worker, in ms.
    pub total_ms: f64,
}

impl RunResult {
    /// The items sink `node_id` produced, in order.
    pub fn outputs_of<'a>(&'a self, node_id: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
        self.outputs
            .iter()
            .filter(move |o| o.node_id == node_id)
            .map(|o| &o.data)
    }
}

/// A problem found in a manifest, at a JSON path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Where, for example `nodes[2].params.target_rate`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Why a run or a session step failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunError {
    /// The manifest is invalid: every problem, with its JSON path.
    Manifest(Vec<Problem>),
    /// The manifest has Python nodes (their ids): these workers run Rust nodes only;
    /// Python nodes need the TypeScript SDK (`@remotemedia/web`), which runs Pyodide.
    NeedsPython(Vec<String>),
    /// A node failed on an item or while flushing.
    Node {
        /// The node's id.
        node_id: String,
        /// Its `node_type`.
        node_type: String,
        /// What went wrong.
        message: String,
    },
    /// An input item could not be used (for example a tensor of an unknown dtype).
    Input(String),
    /// The worker could not read the message it was sent (a codec mismatch, a message
    /// from another program): answered instead of failing the worker.
    Malformed(String),
    /// The session was used before `Open`, after `Close`, or after it failed.
    SessionClosed(String),
    /// The worker stopped before it answered.
    WorkerGone,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Manifest(problems) => {
                write!(f, "invalid manifest ({} problem(s))", problems.len())?;
                for p in problems {
                    write!(f, "\n  {}: {}", p.path, p.message)?;
                }
                Ok(())
            }
            RunError::NeedsPython(nodes) => write!(
                f,
                "the manifest has Python nodes ({}): Rust-only workers cannot run them; use the TypeScript SDK (@remotemedia/web) for Python",
                nodes.join(", ")
            ),
            RunError::Node { node_id, node_type, message } => {
                write!(f, "node \"{node_id}\" ({node_type}) failed: {message}")
            }
            RunError::Input(m) => write!(f, "bad input: {m}"),
            RunError::Malformed(m) => write!(f, "malformed message: {m}"),
            RunError::SessionClosed(m) => write!(f, "session closed: {m}"),
            RunError::WorkerGone => write!(f, "the worker stopped before it answered"),
        }
    }
}

impl std::error::Error for RunError {}

/// What the batch-run worker receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunnerInput {
    /// Run this.
    Run(RunRequest),
    /// Put in place of a message that could not be read (by the codec); answered with
    /// [`RunError::Malformed`].
    Malformed(String),
}

/// What the session worker receives, in order, on one bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionInput {
    /// Opens the session with this manifest (JSON text); answered by `Opened`.
    Open {
        /// The manifest, as JSON text.
        manifest: String,
    },
    /// One item to every source node; answered by `Outputs`.
    Push(Item),
    /// Flushes every node and ends the session; answered by `Closed`.
    Close,
    /// How many sessions the worker holds (on a bridge with no session of its own);
    /// answered by `Count`.
    Count,
    /// Put in place of a message that could not be read (by the codec).
    Malformed(String),
}

/// What the session worker answers, one per [`SessionInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionOutput {
    /// The session is open.
    Opened,
    /// What the sinks produced for a pushed item.
    Outputs(Vec<Output>),
    /// The last outputs; the session is over.
    Closed(Vec<Output>),
    /// The step failed; after a failure, later steps fail with `SessionClosed`.
    Failed(RunError),
    /// How many sessions the worker holds: opened, and neither closed nor dropped.
    Count(usize),
}
