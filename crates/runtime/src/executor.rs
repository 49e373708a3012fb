//! The executor (`docs/execution.md`): batch runs and streaming sessions over one engine.
//!
//! A pushed item enters every source node, then every node, in topological order,
//! processes what its parents delivered during this push; outputs fan out (copied
//! to each child) and fan in (a node receives its parents' items in topological
//! order of the parents). `close` does the same once more with each node flushed
//! after its queue. A batch run is `open`, one `push` per input, `close`, so batch
//! and streaming results agree.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::data::RuntimeData;
use crate::graph::Graph;
use crate::limits::Limits;
use crate::manifest::{Manifest, NodeSpec, RuntimeHint};
use crate::node::{AsyncNode, ExternalNodes, Node, NodeFailure};
use crate::params::Params;
use crate::progress::{InputProgress, Observer, Reporter};
use crate::registry::NodeRegistry;
use crate::remote::RemoteNodes;
use crate::validate::{KnownTypes, ValidationReport};
use crate::wire;

/// `(node id, node type)` of each node of a session, built once at open, so marking the
/// running node costs a reference count, not two string copies per step.
type NodeNames = Rc<[(String, String)]>;

thread_local! {
    static RUNNING: std::cell::RefCell<Option<(NodeNames, usize)>> = const { std::cell::RefCell::new(None) };
}

/// `(node id, node type)` of the Rust node whose code runs on this thread right now, if
/// any: what a panic hook reports, so a panic names its node.
pub fn node_running() -> Option<(String, String)> {
    RUNNING.with(|r| {
        r.try_borrow()
            .ok()
            .and_then(|r| r.as_ref().and_then(|(names, i)| names.get(*i).cloned()))
    })
}

/// Marks a Rust node as running for [`node_running`] until dropped.
struct RunningNode;

impl RunningNode {
    fn enter(names: &NodeNames, node: usize) -> RunningNode {
        RUNNING.with(|r| *r.borrow_mut() = Some((names.clone(), node)));
        RunningNode
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        RUNNING.with(|r| *r.borrow_mut() = None);
    }
}

/// A shared flag that stops a run or session between items.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every run holding this flag to stop at the next item boundary.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelFlag::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why a run or session failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// The manifest is invalid; the report lists every problem (boxed: errors stay small).
    Manifest(Box<ValidationReport>),
    /// A node failed on an item or while flushing.
    Node {
        /// The node's id in the manifest.
        node_id: String,
        /// Its `node_type`.
        node_type: String,
        /// `"rust"` or the external language (`"python"`).
        language: String,
        /// What went wrong.
        message: String,
        /// Python traceback, for Python nodes.
        traceback: Option<String>,
    },
    /// The cancel flag was set.
    Cancelled,
    /// The session was used after it failed or closed.
    SessionClosed(String),
    /// A node that runs on a server failed there, or the server could not be reached.
    Remote {
        /// The node's id in the manifest.
        node_id: String,
        /// Its `node_type`.
        node_type: String,
        /// What went wrong.
        message: String,
        /// The server and its answer (boxed: errors stay small).
        failure: Box<crate::remote::RemoteFailure>,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Manifest(report) => write!(f, "{report}"),
            RunError::Node {
                node_id,
                node_type,
                language,
                message,
                ..
            } => write!(
                f,
                "node \"{node_id}\" ({node_type}, {language}) failed: {message}"
            ),
            RunError::Remote {
                node_id,
                node_type,
                message,
                failure,
            } => write!(
                f,
                "node \"{node_id}\" ({node_type}) on {} failed: {message}",
                failure.server
            ),
            RunError::Cancelled => write!(f, "cancelled"),
            RunError::SessionClosed(why) => write!(f, "session is closed: {why}"),
        }
    }
}

impl std::error::Error for RunError {}

impl RunError {
    /// The error JSON's `kind` ([`crate::error_kinds`]).
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::Manifest(_) => "manifest",
            RunError::Node { .. } => "node",
            RunError::Remote { .. } => "remote",
            RunError::Cancelled => "cancelled",
            RunError::SessionClosed(_) => "closed",
        }
    }

    /// The error as JSON: `{"status": "error", "error": {"kind", "name", "message", ...}}`,
    /// the one error shape of both CLIs and the SDK (`docs/execution.md`): `name` is the
    /// SDK's error class ([`crate::error_kinds`]), other fields snake_case.
    pub fn to_json(&self) -> Value {
        use crate::error_kinds::class_of;
        let error = match self {
            RunError::Manifest(report) => json!({
                "kind": "manifest",
                "name": class_of("manifest"),
                "message": self.to_string(),
                "errors": report.errors,
                "warnings": report.warnings,
            }),
            RunError::Node {
                node_id,
                node_type,
                language,
                message,
                traceback,
            } => json!({
                "kind": "node",
                "name": class_of("node"),
                "message": self.to_string(),
                "node_id": node_id,
                "node_type": node_type,
                "language": language,
                "error": message,
                "traceback": traceback,
            }),
            RunError::Remote {
                node_id,
                node_type,
                failure,
                ..
            } => json!({
                "kind": "remote",
                "name": class_of("remote"),
                "message": self.to_string(),
                "node_id": node_id,
                "node_type": node_type,
                "server": failure.server,
                "code": failure.code,
                "remote": failure.remote,
            }),
            RunError::Cancelled => {
                json!({ "kind": "cancelled", "name": class_of("cancelled"), "message": "cancelled" })
            }
            RunError::SessionClosed(_) => {
                json!({ "kind": "closed", "name": class_of("closed"), "message": self.to_string() })
            }
        };
        json!({ "status": "error", "error": error })
    }
}

/// Milliseconds from an arbitrary origin: [`crate::clock::now_ms`] unless a test gives another.
pub type Clock = fn() -> f64;

/// Builds and runs pipelines. Cheap to clone; holds no run state.
#[derive(Clone)]
pub struct Executor {
    registry: Rc<NodeRegistry>,
    external: Option<Rc<dyn ExternalNodes>>,
    remote: Option<Rc<dyn RemoteNodes>>,
    clock: Clock,
    limits: Limits,
}

impl Default for Executor {
    fn default() -> Self {
        Executor::new(NodeRegistry::builtin())
    }
}

impl Executor {
    /// An executor over `registry`, with no external nodes.
    pub fn new(registry: NodeRegistry) -> Self {
        Executor {
            registry: Rc::new(registry),
            external: None,
            remote: None,
            clock: crate::clock::now_ms,
            limits: Limits::default(),
        }
    }

    /// Plugs in a provider of external (Python) nodes.
    pub fn with_external(mut self, external: Rc<dyn ExternalNodes>) -> Self {
        self.external = Some(external);
        self
    }

    /// Plugs in a transport to servers, for nodes with `host` and `RemotePipelineNode`s
    /// ([`crate::remote`]); without one, such nodes fail at open.
    pub fn with_remote(mut self, remote: Rc<dyn RemoteNodes>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Replaces the clock used for metrics (milliseconds).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the limits on what input may ask for ([`Limits`]): validation, and the
    /// nodes of later runs and sessions, use them.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The Rust node registry.
    pub fn registry(&self) -> &NodeRegistry {
        &self.registry
    }

    /// Validates a manifest against this executor's node types.
    pub fn validate(&self, manifest: &Value) -> (Option<Manifest>, ValidationReport) {
        let python = self
            .external
            .as_ref()
            .map(|e| e.node_types())
            .unwrap_or_default();
        crate::validate::validate_value(
            manifest,
            KnownTypes {
                rust: &self.registry,
                python: &python,
                limits: self.limits,
            },
        )
    }

    /// Validates and returns the typed manifest, or `RunError::Manifest`.
    pub fn parse(&self, manifest: &Value) -> Result<Manifest, RunError> {
        match self.validate(manifest) {
            (Some(m), _) => Ok(m),
            (None, report) => Err(RunError::Manifest(Box::new(report))),
        }
    }

    /// Opens a streaming session: builds one fresh instance of every node.
    ///
    /// Errors: `RunError::Node` if a node cannot be created (an unknown external
    /// type, a Python `initialize` that raises).
    pub async fn open(&self, manifest: &Manifest) -> Result<Session, RunError> {
        let graph = Graph::build(manifest).map_err(|cycle| {
            RunError::Manifest(Box::new(ValidationReport {
                valid: false,
                errors: vec![crate::validate::Problem {
                    path: "connections".into(),
                    message: format!("cycle: {}", cycle.cycle.join(" -> ")),
                }],
                ..ValidationReport::default()
            }))
        })?;
        let mut slots = Vec::with_capacity(manifest.nodes.len());
        for spec in &manifest.nodes {
            slots.push(self.instantiate(manifest, spec).await?);
        }
        let n = slots.len();
        let names: NodeNames = manifest
            .nodes
            .iter()
            .map(|n| (n.id.clone(), n.node_type.clone()))
            .collect();
        Ok(Session {
            manifest: manifest.clone(),
            names,
            graph,
            slots,
            metrics: vec![NodeMetrics::default(); n],
            clock: self.clock,
            limits: self.limits,
            state: SessionState::Open,
            progress: None,
        })
    }

    async fn instantiate(&self, manifest: &Manifest, spec: &NodeSpec) -> Result<Slot, RunError> {
        let hint = spec.runtime_hint.unwrap_or(RuntimeHint::Auto);
        if let Some(target) = crate::remote::target_of(spec) {
            let Some(remote) = &self.remote else {
                let why = format!(
                    "it runs on the server {}, and this runtime has no transport to servers",
                    target.server
                );
                return Err(node_error(spec, "remote", NodeFailure::new(why)));
            };
            let node = remote
                .open(spec, target)
                .await
                .map_err(|f| node_error(spec, "remote", f))?;
            return Ok(Slot::External(node, "remote".into()));
        }
        if let Some(factory) = self.registry.resolve(spec, manifest.python.as_ref()) {
            let node = (factory.create)(
                Params::new(&spec.params, factory.params).with_limits(self.limits),
            )
            .map_err(|e| RunError::Node {
                node_id: spec.id.clone(),
                node_type: spec.node_type.clone(),
                language: "rust".into(),
                message: format!("params.{}: {}", e.param, e.message),
                traceback: None,
            })?;
            return Ok(Slot::Rust(node, factory.params));
        }
        match (&self.external, hint) {
            (Some(external), RuntimeHint::Python | RuntimeHint::Auto) => {
                let node = external
                    .create(manifest, spec)
                    .await
                    .map_err(|f| node_error(spec, external.language(), f))?;
                Ok(Slot::External(node, external.language().to_string()))
            }
            _ => Err(node_error(
                spec,
                "rust",
                NodeFailure::new(format!(
                    "no node type \"{}\" is available here (Python nodes need the Python worker)",
                    spec.node_type
                )),
            )),
        }
    }

    /// Batch run (`docs/execution.md`): every source receives every input in order, then every
    /// node is flushed (the last input and the flush form one step, see
    /// [`Session::push_final`]).
    ///
    /// Errors: `RunError::Node` with the failing node, `RunError::Cancelled`.
    pub async fn run(
        &self,
        manifest: &Manifest,
        inputs: Vec<RuntimeData>,
        cancel: &CancelFlag,
    ) -> Result<RunResult, RunError> {
        self.run_observed(manifest, inputs, cancel, None).await
    }

    /// [`Executor::run`], reporting progress while it runs to `progress`: an observer and
    /// the least interval between two reports, in ms (the last report comes at the end,
    /// with `done: true`).
    pub async fn run_observed(
        &self,
        manifest: &Manifest,
        inputs: Vec<RuntimeData>,
        cancel: &CancelFlag,
        progress: Option<(Observer, f64)>,
    ) -> Result<RunResult, RunError> {
        let started = (self.clock)();
        let mut session = self.open(manifest).await?;
        if let Some((observer, interval_ms)) = progress {
            session.observe(observer, interval_ms);
        }
        let mut outputs = Vec::new();
        let mut inputs = inputs.into_iter().peekable();
        while let Some(item) = inputs.next() {
            if inputs.peek().is_some() {
                outputs.extend(session.push(item, cancel).await?);
            } else {
                outputs.extend(session.push_final(item, cancel).await?);
            }
        }
        if !session.is_closed() {
            outputs.extend(session.close(cancel).await?);
        }
        session.report_progress(true);
        Ok(session.result(outputs, (self.clock)() - started))
    }
}

fn node_error(spec: &NodeSpec, language: &str, failure: NodeFailure) -> RunError {
    if let Some(remote) = failure.remote {
        return RunError::Remote {
            node_id: spec.id.clone(),
            node_type: spec.node_type.clone(),
            message: failure.message,
            failure: remote,
        };
    }
    RunError::Node {
        node_id: spec.id.clone(),
        node_type: spec.node_type.clone(),
        language: language.to_string(),
        message: failure.message,
        traceback: failure.traceback,
    }
}

enum Slot {
    /// A Rust node and its type's declared parameters (for live changes).
    Rust(Box<dyn Node>, &'static [crate::params::ParamSpec]),
    External(Box<dyn AsyncNode>, String),
}

/// Per-node counters of a run or session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeMetrics {
    /// Items received.
    pub items_in: u64,
    /// Items produced (including on flush).
    pub items_out: u64,
    /// Time spent inside the node, in milliseconds.
    pub time_ms: f64,
}

/// One item produced by a sink node.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Id of the sink node that produced it.
    pub node_id: String,
    /// The item.
    pub data: RuntimeData,
}

#[derive(Debug, Clone, PartialEq)]
enum SessionState {
    Open,
    Closed,
    Failed(String),
}

/// A streaming session: node state lives across pushes until `close`.
pub struct Session {
    manifest: Manifest,
    names: NodeNames,
    graph: Graph,
    slots: Vec<Slot>,
    metrics: Vec<NodeMetrics>,
    clock: Clock,
    limits: Limits,
    state: SessionState,
    progress: Option<Reporter>,
}

impl Session {
    /// Reports this session's progress to `observer` while it runs, at most once per
    /// `interval_ms` of the executor's clock (see [`crate::progress::Observer`]), and
    /// once more on [`Session::report_progress`].
    pub fn observe(&mut self, observer: Observer, interval_ms: f64) {
        self.progress = Some(Reporter::new(observer, interval_ms));
    }

    /// Sends a progress report now (`done`: the last one), if observed.
    pub fn report_progress(&mut self, done: bool) {
        let now = (self.clock)();
        self.send_progress(now, done);
    }

    /// Sends a report if one is due.
    fn tick_progress(&mut self) {
        let now = (self.clock)();
        if self.progress.as_ref().is_some_and(|p| p.due(now)) {
            self.send_progress(now, false);
        }
    }

    fn send_progress(&mut self, now: f64, done: bool) {
        let Some(reporter) = &mut self.progress else {
            return;
        };
        let ids = &self.graph.ids;
        let inputs: Vec<(&str, InputProgress)> = self
            .slots
            .iter()
            .zip(ids)
            .filter_map(|(slot, id)| match slot {
                Slot::Rust(n, _) => n.input_progress().map(|p| (id.as_str(), p)),
                Slot::External(..) => None,
            })
            .collect();
        let counts: Vec<(&str, u64, u64)> = ids
            .iter()
            .zip(&self.metrics)
            .map(|(id, m)| (id.as_str(), m.items_in, m.items_out))
            .collect();
        reporter.send(now, &counts, &inputs, done);
    }

    /// Feeds one item to every source node; returns what the sinks produced.
    ///
    /// Errors: `RunError::Node`, `RunError::Cancelled`; after an error the session
    /// is failed and further calls return `RunError::SessionClosed`.
    pub async fn push(
        &mut self,
        item: RuntimeData,
        cancel: &CancelFlag,
    ) -> Result<Vec<Output>, RunError> {
        self.ensure_open()?;
        let queues = self.source_queues(Some(item));
        self.propagate(queues, false, cancel).await
    }

    /// Flushes every node in topological order and ends the session; returns the
    /// last sink outputs.
    pub async fn close(&mut self, cancel: &CancelFlag) -> Result<Vec<Output>, RunError> {
        self.finish(None, cancel).await
    }

    /// Pushes a last item and closes in one step (see [`Node::finish`]): same items
    /// as `push` then `close`, but nodes may keep the final output in one piece.
    pub async fn push_final(
        &mut self,
        item: RuntimeData,
        cancel: &CancelFlag,
    ) -> Result<Vec<Output>, RunError> {
        self.finish(Some(item), cancel).await
    }

    async fn finish(
        &mut self,
        item: Option<RuntimeData>,
        cancel: &CancelFlag,
    ) -> Result<Vec<Output>, RunError> {
        self.ensure_open()?;
        let queues = self.source_queues(item);
        let outputs = self.propagate(queues, true, cancel).await?;
        self.state = SessionState::Closed;
        Ok(outputs)
    }

    /// Queues with `item` given to every source: copies for all but the last.
    fn source_queues(&self, item: Option<RuntimeData>) -> Vec<Vec<RuntimeData>> {
        let mut queues: Vec<Vec<RuntimeData>> = vec![Vec::new(); self.slots.len()];
        let sources = self.graph.sources();
        if let (Some(item), Some((last, rest))) = (item, sources.split_last()) {
            for &s in rest {
                queues[s].push(item.clone());
            }
            queues[*last].push(item);
        }
        queues
    }

    /// Changes parameters of node `node_id` while the session runs (live tuning):
    /// `changes` are merged over its current parameters, checked against its type's
    /// declared ones, and handed to [`Node::reconfigure`]; later changes merge over
    /// these. The session stays usable whatever the outcome.
    ///
    /// Errors: `RunError::Manifest` naming `nodes[i].params.<name>` for an unknown node,
    /// an unknown or mistyped parameter, a value the node refuses, or a node type whose
    /// parameters are fixed (Python nodes included); `RunError::SessionClosed`.
    pub fn configure(
        &mut self,
        node_id: &str,
        changes: &Map<String, Value>,
    ) -> Result<(), RunError> {
        self.ensure_open()?;
        let refuse = |path: String, message: String| {
            RunError::Manifest(Box::new(ValidationReport {
                valid: false,
                errors: vec![crate::validate::Problem { path, message }],
                ..ValidationReport::default()
            }))
        };
        let Some(index) = self.manifest.nodes.iter().position(|n| n.id == node_id) else {
            return Err(refuse(
                "nodes".into(),
                format!("no node \"{node_id}\" in this session"),
            ));
        };
        let at = format!("nodes[{index}].params");
        let Slot::Rust(node, specs) = &mut self.slots[index] else {
            return Err(refuse(
                at,
                "Python nodes' parameters cannot be changed while they run".into(),
            ));
        };
        let mut merged = self.manifest.nodes[index].params.clone();
        merged.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(name) = changes
            .keys()
            .find(|k| !specs.iter().any(|s| s.name == k.as_str()))
        {
            return Err(refuse(format!("{at}.{name}"), "unknown parameter".into()));
        }
        let check = crate::params::check(specs, &merged);
        if let Some((name, message)) = check.errors.into_iter().next() {
            return Err(refuse(format!("{at}.{name}"), message));
        }
        node.reconfigure(Params::new(&merged, specs).with_limits(self.limits))
            .map_err(|e| refuse(format!("{at}.{}", e.param), e.message))?;
        self.manifest.nodes[index].params = merged;
        Ok(())
    }

    /// Whether the session was closed (by `close` or `push_final`).
    pub fn is_closed(&self) -> bool {
        self.state == SessionState::Closed
    }

    /// Per-node metrics so far, by node index in manifest order.
    pub fn metrics(&self) -> &[NodeMetrics] {
        &self.metrics
    }

    /// The graph being executed.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    fn ensure_open(&self) -> Result<(), RunError> {
        match &self.state {
            SessionState::Open => Ok(()),
            SessionState::Closed => Err(RunError::SessionClosed("already closed".into())),
            SessionState::Failed(why) => Err(RunError::SessionClosed(format!(
                "an earlier error ended it: {why}"
            ))),
        }
    }

    async fn propagate(
        &mut self,
        mut queues: Vec<Vec<RuntimeData>>,
        flush: bool,
        cancel: &CancelFlag,
    ) -> Result<Vec<Output>, RunError> {
        let result = self.propagate_inner(&mut queues, flush, cancel).await;
        if let Err(e) = &result {
            self.state = SessionState::Failed(e.to_string());
        }
        result
    }

    async fn propagate_inner(
        &mut self,
        queues: &mut [Vec<RuntimeData>],
        flush: bool,
        cancel: &CancelFlag,
    ) -> Result<Vec<Output>, RunError> {
        let mut emitted = Vec::new();
        self.run_from(0, queues, flush, cancel, &mut emitted)
            .await?;
        Ok(emitted)
    }

    /// Runs the nodes from position `start` of the topological order over their queues.
    /// A node that owes output in pieces ([`Node::owes_output`]) gives them one at a
    /// time, each sent through the rest of the graph (without flushing it) before the
    /// next is made, so a long file is never whole in memory between two nodes.
    fn run_from<'a>(
        &'a mut self,
        start: usize,
        queues: &'a mut [Vec<RuntimeData>],
        flush: bool,
        cancel: &'a CancelFlag,
        emitted: &'a mut Vec<Output>,
    ) -> crate::node::LocalFuture<'a, Result<(), RunError>> {
        Box::pin(async move {
            for pos in start..self.graph.order.len() {
                let node = self.graph.order[pos];
                let items = std::mem::take(&mut queues[node]);
                if items.is_empty() && !flush {
                    continue;
                }
                if cancel.is_cancelled() {
                    return Err(RunError::Cancelled);
                }
                let started = (self.clock)();
                self.metrics[node].items_in += items.len() as u64;
                let produced = self.step(node, items, flush, cancel).await;
                self.metrics[node].time_ms += (self.clock)() - started;
                let produced = produced?;
                self.metrics[node].items_out += produced.len() as u64;
                self.deliver(node, produced, queues, emitted);
                self.tick_progress();
                while self.owes_output(node) {
                    // What was delivered goes down first; then the next piece is made.
                    self.run_from(pos + 1, queues, false, cancel, emitted)
                        .await?;
                    if cancel.is_cancelled() {
                        return Err(RunError::Cancelled);
                    }
                    let started = (self.clock)();
                    let piece = self.next_piece(node);
                    self.metrics[node].time_ms += (self.clock)() - started;
                    let piece = piece?;
                    self.metrics[node].items_out += piece.len() as u64;
                    self.deliver(node, piece, queues, emitted);
                    self.tick_progress();
                }
            }
            Ok(())
        })
    }

    fn owes_output(&self, node: usize) -> bool {
        matches!(&self.slots[node], Slot::Rust(n, _) if n.owes_output())
    }

    /// The next piece a Rust node owes ([`Node::next_piece`]).
    fn next_piece(&mut self, node: usize) -> Result<Vec<RuntimeData>, RunError> {
        let spec = &self.manifest.nodes[node];
        let _running = RunningNode::enter(&self.names, node);
        let mut out = Vec::new();
        if let Slot::Rust(n, _) = &mut self.slots[node] {
            n.next_piece(&mut out)
                .map_err(|f| node_error(spec, "rust", f))?;
        }
        Ok(out)
    }

    /// Runs one node over its queued items (and its flush, when closing).
    async fn step(
        &mut self,
        node: usize,
        items: Vec<RuntimeData>,
        flush: bool,
        cancel: &CancelFlag,
    ) -> Result<Vec<RuntimeData>, RunError> {
        let spec = &self.manifest.nodes[node];
        let mut out = Vec::new();
        let _running = matches!(self.slots[node], Slot::Rust(..))
            .then(|| RunningNode::enter(&self.names, node));
        match &mut self.slots[node] {
            Slot::Rust(n, _) if flush => {
                n.finish(items, &mut out)
                    .map_err(|f| node_error(spec, "rust", f))?;
            }
            Slot::Rust(n, _) => {
                for item in items {
                    if cancel.is_cancelled() {
                        return Err(RunError::Cancelled);
                    }
                    n.process(item, &mut out)
                        .map_err(|f| node_error(spec, "rust", f))?;
                }
            }
            Slot::External(n, language) => {
                // A node that waits (Python, a server) may be stopped by the cancel itself:
                // its failure is then the cancel.
                let failed = |f| match cancel.is_cancelled() {
                    true => RunError::Cancelled,
                    false => node_error(spec, language, f),
                };
                if flush {
                    out = n.finish(items).await.map_err(failed)?;
                } else if !items.is_empty() {
                    out = n.process(items).await.map_err(failed)?;
                }
            }
        }
        Ok(out)
    }

    fn deliver(
        &self,
        node: usize,
        produced: Vec<RuntimeData>,
        queues: &mut [Vec<RuntimeData>],
        emitted: &mut Vec<Output>,
    ) {
        let children = &self.graph.children[node];
        if children.is_empty() {
            let id = &self.graph.ids[node];
            emitted.extend(produced.into_iter().map(|data| Output {
                node_id: id.clone(),
                data,
            }));
            return;
        }
        // Fan-out: a copy for every child but the last, which takes the originals.
        let (last, rest) = children.split_last().expect("children is not empty");
        for &child in rest {
            queues[child].extend(produced.iter().cloned());
        }
        queues[*last].extend(produced);
    }

    /// Assembles the result of `docs/execution.md` from all outputs of the session.
    pub fn result(&self, outputs: Vec<Output>, total_ms: f64) -> RunResult {
        RunResult {
            outputs,
            sinks: self
                .graph
                .sinks()
                .into_iter()
                .map(|i| self.graph.ids[i].clone())
                .collect(),
            execution_order: self
                .graph
                .order
                .iter()
                .map(|&i| self.graph.ids[i].clone())
                .collect(),
            source_count: self.graph.sources().len(),
            node_metrics: self
                .graph
                .ids
                .iter()
                .cloned()
                .zip(self.metrics.iter().cloned())
                .collect(),
            total_ms,
        }
    }
}

/// The result of a batch run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Every sink item in the order produced.
    pub outputs: Vec<Output>,
    /// Sink ids in topological order.
    pub sinks: Vec<String>,
    /// All node ids in execution (topological) order.
    pub execution_order: Vec<String>,
    /// Number of source nodes.
    pub source_count: usize,
    /// `(node id, metrics)` in manifest order.
    pub node_metrics: Vec<(String, NodeMetrics)>,
    /// Wall time of the whole run, in milliseconds.
    pub total_ms: f64,
}

impl RunResult {
    /// Items produced by one sink, in order.
    pub fn outputs_of(&self, node_id: &str) -> Vec<&RuntimeData> {
        self.outputs
            .iter()
            .filter(|o| o.node_id == node_id)
            .map(|o| &o.data)
            .collect()
    }

    /// The result JSON of `docs/execution.md`, with items in wire form:
    /// `{status, outputs, outputs_by_node, graph_info, metrics}`, where
    /// `outputs_by_node` maps each sink id to the indices of its items in `outputs`
    /// (each payload is carried once).
    pub fn to_json(&self) -> Value {
        self.to_json_with(&mut wire::base64_data)
    }

    /// [`RunResult::to_json`] with binary payloads handed to `payload` (see
    /// [`wire::encode_with`]). Each item is encoded once.
    pub fn to_json_with(&self, payload: &mut dyn FnMut(&[u8]) -> Value) -> Value {
        let outputs: Vec<Value> = self
            .outputs
            .iter()
            .map(|o| wire::encode_with(&o.data, payload))
            .collect();
        let mut by_node = Map::new();
        for sink in &self.sinks {
            let indices: Vec<Value> = (0..self.outputs.len())
                .filter(|&i| &self.outputs[i].node_id == sink)
                .map(Value::from)
                .collect();
            by_node.insert(sink.clone(), Value::Array(indices));
        }
        let mut nodes = Map::new();
        for (id, m) in &self.node_metrics {
            nodes.insert(
                id.clone(),
                json!({
                    "items_in": m.items_in,
                    "items_out": m.items_out,
                    "time_ms": round3(m.time_ms),
                }),
            );
        }
        json!({
            "status": "success",
            "outputs": outputs,
            "outputs_by_node": by_node,
            "graph_info": {
                "node_count": self.execution_order.len(),
                "source_count": self.source_count,
                "sink_count": self.sinks.len(),
                "execution_order": self.execution_order,
            },
            "metrics": { "total_ms": round3(self.total_ms), "nodes": nodes },
        })
    }
}

impl RunResult {
    /// Writes [`RunResult::to_json`]'s JSON (compact, the same text) to `out` without
    /// holding it: the JSON around the payloads is built with a mark in each payload's
    /// place, and each payload's base64 is streamed where its mark was. The native CLI
    /// prints results this way, so a result of an hour of audio costs its samples, not
    /// also their base64 text twice over. Errors are `out`'s.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        const MARK: &str = "\u{1}remotemedia-payload\u{1}";
        let skeleton = self.to_json_with(&mut |_| Value::String(MARK.into()));
        let text = skeleton.to_string();
        let quoted_mark = Value::String(MARK.into()).to_string();
        let mut parts = text.split(quoted_mark.as_str());
        out.write_all(parts.next().unwrap_or_default().as_bytes())?;
        // The payloads come in the order `to_json_with` meets them: the marks' order.
        let mut failed = None;
        self.to_json_with(&mut |bytes| {
            if failed.is_none() {
                let written = wire::write_base64_data(bytes, out)
                    .and_then(|()| out.write_all(parts.next().unwrap_or_default().as_bytes()));
                failed = written.err();
            }
            Value::Null
        });
        failed.map_or(Ok(()), Err)
    }
}

fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}
