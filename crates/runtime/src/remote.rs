//! Nodes that run on a server (`remotemedia serve`, `docs/remote.md`), as the original SDK
//! has them: a node with `host` (the original's field) runs there as a one-node pipeline,
//! and a `RemotePipelineNode` runs a whole pipeline there. The rest of the graph stays
//! local; items go to the server and come back in the session's order.
//!
//! This module owns the rule of what runs where ([`target_of`]) and the node type's
//! parameters; the transport is the host's ([`RemoteNodes`]): gRPC natively, a WebSocket in
//! browsers. Without one, such a node fails at open with an error saying so.

use serde_json::{json, Value};

use crate::data::RuntimeData;
use crate::manifest::NodeSpec;
pub use crate::node::RemoteFailure;
use crate::node::{AsyncNode, LocalFuture, Node, NodeFactory, NodeFailure};
use crate::params::{ParamDefault, ParamKind, ParamSpec};
use crate::shape::Shape;

/// The node type that runs a whole pipeline on a server.
pub const REMOTE_PIPELINE_NODE: &str = "RemotePipelineNode";

/// Default `timeout_ms` of a remote node: how long one chunk may take there.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// Where and what a remote node runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteTarget {
    /// The server, as the manifest wrote it: `host:port`, `grpc://`, `http(s)://`, `ws(s)://`.
    pub server: String,
    /// The manifest the server runs (JSON, validated by the server).
    pub manifest: Value,
    /// How long one chunk may take on the server, in ms (opening included).
    pub timeout_ms: u64,
    /// A bearer token for the server, if the manifest gives one (`auth_token`); the
    /// host's own configuration applies otherwise.
    pub token: Option<String>,
    /// How many times a session that broke (the server went away) is opened again before
    /// the node fails; 0 (the default) fails at once. A new session starts with fresh
    /// node state on the server.
    pub reconnect: u32,
}

impl RemoteTarget {
    /// A failure of this target's server with `code` (see [`RemoteFailure::code`]).
    pub fn failure(&self, code: &str, message: String, remote: Option<Value>) -> NodeFailure {
        NodeFailure::remote(&self.server, code, message, remote)
    }
}

/// Metadata key set to `true` on the first audio item a remote node gives after it
/// reconnected. The server's nodes started afresh there, so stream positions in that
/// item's metadata (`vad.frames`) count from its first frame again. The built-in nodes
/// that read VAD positions (`SpeechEventsNode`, `AudioBufferAccumulatorNode`) carry on
/// from there instead of failing on positions that went back.
pub const RESTART_KEY: &str = "remotemedia.restart";

/// A remote node's reconnects, for [`RESTART_KEY`]: set by [`Restart::reconnected`],
/// placed on the next audio output by [`Restart::mark`]. One rule for every transport.
#[derive(Debug, Default)]
pub struct Restart {
    pending: bool,
}

impl Restart {
    /// The session was opened again: the next audio output starts a new stream.
    pub fn reconnected(&mut self) {
        self.pending = true;
    }

    /// Marks the first audio item of `outputs` if a reconnect is pending (none: it waits
    /// for the next outputs).
    pub fn mark(&mut self, outputs: &mut [RuntimeData]) {
        if !self.pending {
            return;
        }
        if let Some(audio) = outputs.iter_mut().find_map(|o| match o {
            RuntimeData::Audio(a) => Some(a),
            _ => None,
        }) {
            audio.metadata.insert(RESTART_KEY.into(), Value::Bool(true));
            self.pending = false;
        }
    }
}

/// Whether `spec` runs on a server, and how: its `host` (the node alone, as a one-node
/// pipeline) or a `RemotePipelineNode`'s parameters (already checked by validation).
pub fn target_of(spec: &NodeSpec) -> Option<RemoteTarget> {
    if spec.node_type == REMOTE_PIPELINE_NODE {
        let params = &spec.params;
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| params.get(*n).and_then(Value::as_str))
                .map(str::to_owned)
        };
        let manifest = ["manifest", "pipeline_manifest"]
            .iter()
            .find_map(|n| params.get(*n))
            .cloned()
            .unwrap_or(Value::Null);
        return Some(RemoteTarget {
            server: text(&["endpoint", "server_url"]).unwrap_or_default(),
            manifest,
            timeout_ms: params
                .get("timeout_ms")
                .and_then(Value::as_f64)
                .map_or(DEFAULT_TIMEOUT_MS, |ms| ms as u64),
            token: text(&["auth_token"]),
            reconnect: params
                .get("reconnect")
                .and_then(Value::as_u64)
                .map_or(0, |n| n.min(u64::from(u32::MAX)) as u32),
        });
    }
    let host = spec.host.as_deref().filter(|h| !h.trim().is_empty())?;
    let mut node = json!({ "id": spec.id, "node_type": spec.node_type, "params": spec.params });
    if let Some(hint) = spec.runtime_hint {
        node["runtime_hint"] = serde_json::to_value(hint).unwrap_or(Value::Null);
    }
    Some(RemoteTarget {
        server: host.to_owned(),
        manifest: json!({
            "version": "v1",
            "metadata": { "name": format!("{} (offloaded)", spec.id) },
            "nodes": [node],
        }),
        timeout_ms: DEFAULT_TIMEOUT_MS,
        token: None,
        reconnect: 0,
    })
}

/// What a host plugs in to reach servers (the native CLI: gRPC; the browser's executor
/// worker: a WebSocket).
pub trait RemoteNodes {
    /// Opens a session on `target.server` running `target.manifest`, for node `spec`,
    /// and returns it as a node: each batch of items is sent as chunks and answered with
    /// the server's outputs, in order; `flush` closes the session and returns the
    /// server's last outputs.
    ///
    /// Errors: a [`NodeFailure`] with [`NodeFailure::remote`] set (the server's answer,
    /// or `unavailable`, `timeout`, `unauthenticated` when there was none).
    fn open<'a>(
        &'a self,
        spec: &'a NodeSpec,
        target: RemoteTarget,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>>;
}

/// The parameters of `RemotePipelineNode`, with the original SDK's names first.
const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("endpoint", ParamKind::Text)
        .aliases(&["server_url"])
        .doc("The server: `host:port`, `http://host:port` or `grpc://host:port` (gRPC), `ws://host:port/ws` or `wss://` (WebSocket; what browsers use)."),
    ParamSpec::required("manifest", ParamKind::Object)
        .aliases(&["pipeline_manifest"])
        .doc("The pipeline the server runs (a manifest object; the server validates it against its own node types)."),
    ParamSpec::optional("timeout_ms", ParamKind::Number)
        .default(ParamDefault::Number(DEFAULT_TIMEOUT_MS as f64))
        .doc("How long one chunk may take on the server, opening included, in ms."),
    ParamSpec::optional("auth_token", ParamKind::Text)
        .doc("A bearer token for the server (else the host's configured token, if any)."),
    ParamSpec::optional("reconnect", ParamKind::Count)
        .default(ParamDefault::Count(0))
        .doc("Times a session that broke is opened again (fresh state on the server) before the node fails."),
    ParamSpec::optional("transport", ParamKind::OneOf(&["grpc", "websocket", "auto"]))
        .default(ParamDefault::Text("auto"))
        .doc("Accepted for the original's manifests (`webrtc` and `http` are refused): natively nodes reach servers over gRPC, in browsers over the WebSocket, whatever it says."),
];

/// `RemotePipelineNode` in the catalog. Its constructor only stands in for validation:
/// the executor opens the real node through [`RemoteNodes`], and fails at open without one.
pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: REMOTE_PIPELINE_NODE,
        aliases: &[],
        summary: "any -> what the pipeline `manifest` makes of it on the server `endpoint` (a session per run; `docs/remote.md`)",
        params: PARAMS,
        output: Shape::Any,
        create: |_| Ok(Box::new(Unreachable)),
    }]
}

/// Stands in for a remote node where the executor has no [`RemoteNodes`]; never runs,
/// since the executor refuses such a node at open.
struct Unreachable;

impl Node for Unreachable {
    fn process(
        &mut self,
        _: crate::RuntimeData,
        _: &mut Vec<crate::RuntimeData>,
    ) -> Result<(), NodeFailure> {
        Err(NodeFailure::new("this runtime cannot reach servers"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: Value) -> NodeSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_host_runs_the_node_alone_there() {
        let s = spec(
            json!({"id": "vad", "node_type": "SileroVADNode", "params": {"threshold": 0.6}, "host": "127.0.0.1:50051"}),
        );
        let t = target_of(&s).unwrap();
        assert_eq!(t.server, "127.0.0.1:50051");
        assert_eq!(t.manifest["nodes"][0]["params"]["threshold"], 0.6);
        assert_eq!(t.manifest["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(t.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(target_of(&spec(json!({"id": "a", "node_type": "Echo"}))).is_none());
    }

    #[test]
    fn a_remote_pipeline_node_takes_the_originals_names() {
        let manifest = json!({"version": "v1", "metadata": {"name": "m"}, "nodes": []});
        let s = spec(
            json!({"id": "r", "node_type": "RemotePipelineNode", "params": {
            "server_url": "ws://h:1/ws", "pipeline_manifest": manifest, "timeout_ms": 500, "reconnect": 2}}),
        );
        let t = target_of(&s).unwrap();
        assert_eq!(
            (t.server.as_str(), t.timeout_ms, t.reconnect),
            ("ws://h:1/ws", 500, 2)
        );
        assert_eq!(t.manifest, manifest);
    }
}
