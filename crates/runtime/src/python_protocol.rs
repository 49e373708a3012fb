//! The requests and answers of the `remotemedia` Python package's bridge
//! (`js-sdk/python/remotemedia/bridge.py`, `bridge.handle(text) -> text`), shared by the
//! two ways this runtime reaches Python: the browser's Pyodide worker (`crates/worker`)
//! and CPython embedded natively ([`crate::native_python`]).
//!
//! - `{"op": "require", "packages": [...]}` -> `{}` (natively: each package imports);
//! - `{"op": "create", "node": {id, node_type, params}, "python": {packages, modules},
//!   "scope": s}` -> `{"instance": n}` (the node's `initialize` has run); `scope` is
//!   [`scope_of`] the manifest (null without modules): the bridge keeps one namespace,
//!   and the browser one interpreter, per scope;
//! - `{"op": "process", "instance": n, "items": [...]}` -> `{"items": [...]}`;
//! - `{"op": "flush", "instance": n}` -> `{"items": [...]}` (`cleanup` has run and the
//!   instance is gone);
//! - `{"op": "release", "instance": n}`: drop an instance that was never flushed.
//!
//! Any answer may instead be `{"error": {"message", "traceback"}}`. Bodies are JSON text
//! because Python reads them with its `json` module. Items are in wire form
//! (`docs/wire-format.md`).

use serde_json::{json, Value};

use crate::data::RuntimeData;
use crate::manifest::{Manifest, NodeSpec};
use crate::node::NodeFailure;
use crate::wire;

/// `require`: make the manifest's Python packages importable before its nodes are made.
pub fn require_request(packages: &[String]) -> Value {
    json!({"op": "require", "packages": packages})
}

/// `create`: one instance of `node`, with the manifest's Python modules loaded in the
/// manifest's [`scope_of`].
pub fn create_request(manifest: &Manifest, node: &NodeSpec) -> Value {
    json!({
        "op": "create",
        "node": {"id": node.id, "node_type": node.node_type, "params": node.params},
        "python": manifest.python,
        "scope": scope_of(manifest),
    })
}

/// The interpreter scope of `manifest` (`docs/python-nodes.md`, "Scopes"): the lowercase hex
/// SHA-256 of its `python.modules` as compact JSON with keys sorted (serde_json's
/// output of the map), or `None` when it has none. Equal modules share a scope, so a
/// manifest run again keeps its module state. The one place this hash is computed: the
/// browser's Python host and the bridge read it from requests.
pub fn scope_of(manifest: &Manifest) -> Option<String> {
    use sha2::{Digest, Sha256};
    let modules = &manifest.python.as_ref()?.modules;
    if modules.is_empty() {
        return None;
    }
    let text = serde_json::to_string(modules).ok()?;
    let digest = Sha256::digest(text.as_bytes());
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// `process`: a batch of items for instance `instance`.
pub fn process_request(instance: u64, items: &[RuntimeData]) -> Value {
    let items: Vec<Value> = items.iter().map(wire::encode).collect();
    json!({"op": "process", "instance": instance, "items": items})
}

/// `flush`: the instance's last items; it is cleaned up and gone afterwards.
pub fn flush_request(instance: u64) -> Value {
    json!({"op": "flush", "instance": instance})
}

/// `release`: drop an instance that was never flushed (a failed or cancelled run).
pub fn release_request(instance: u64) -> Value {
    json!({"op": "release", "instance": instance})
}

/// Reads an answer's JSON text; `{"error": ...}` answers become a [`NodeFailure`] with
/// the Python message and traceback.
pub fn read_answer(text: &str) -> Result<Value, NodeFailure> {
    let answer: Value = serde_json::from_str(text)
        .map_err(|e| NodeFailure::new(format!("Python answered with bad JSON: {e}")))?;
    if let Some(err) = answer.get("error") {
        return Err(NodeFailure {
            message: err["message"]
                .as_str()
                .unwrap_or("Python error")
                .to_string(),
            traceback: err["traceback"].as_str().map(str::to_string),
            remote: None,
        });
    }
    Ok(answer)
}

/// The instance id of a `create` answer.
pub fn instance_of(answer: &Value) -> Result<u64, NodeFailure> {
    answer["instance"]
        .as_u64()
        .ok_or_else(|| NodeFailure::new("Python did not return an instance id"))
}

/// The decoded items of a `process` or `flush` answer.
pub fn items_of(answer: &Value) -> Result<Vec<RuntimeData>, NodeFailure> {
    let items = answer["items"]
        .as_array()
        .ok_or_else(|| NodeFailure::new("Python's answer has no items"))?;
    wire::decode_all(items).map_err(|e| NodeFailure::new(format!("Python output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_become_failures_with_the_traceback() {
        let failure =
            read_answer(r#"{"error": {"message": "ValueError: x", "traceback": "Traceback ..."}}"#)
                .unwrap_err();
        assert_eq!(failure.message, "ValueError: x");
        assert_eq!(failure.traceback.as_deref(), Some("Traceback ..."));
        assert!(read_answer("{nope")
            .unwrap_err()
            .message
            .contains("bad JSON"));
        let answer = read_answer(r#"{"items": [1, "a"]}"#).unwrap();
        assert_eq!(
            items_of(&answer).unwrap(),
            vec![RuntimeData::Json(1.into()), RuntimeData::Text("a".into())]
        );
        assert!(instance_of(&answer).is_err());
    }

    use crate::manifest::Manifest;
    use serde_json::json;

    fn manifest(python: serde_json::Value) -> Manifest {
        serde_json::from_value(json!({
            "version": "v1", "metadata": {"name": "m"},
            "nodes": [{"id": "a", "node_type": "N"}], "python": python,
        }))
        .unwrap()
    }

    #[test]
    fn the_scope_is_the_modules_content() {
        let a = json!({"modules": {"a": "x = 1", "b": "y = 2"}});
        let a_reordered = json!({"modules": {"b": "y = 2", "a": "x = 1"}, "packages": ["numpy"]});
        let scope = scope_of(&manifest(a)).unwrap();
        assert_eq!(scope.len(), 64);
        assert!(scope.bytes().all(|b| b.is_ascii_hexdigit()));
        // Key order and packages do not matter; any change to a module's text does.
        assert_eq!(Some(scope.clone()), scope_of(&manifest(a_reordered)));
        let changed = json!({"modules": {"a": "x = 1 ", "b": "y = 2"}});
        assert_ne!(Some(scope), scope_of(&manifest(changed)));
        // No inline Python: the shared interpreter.
        assert_eq!(scope_of(&manifest(json!({"modules": {}}))), None);
        assert_eq!(scope_of(&manifest(json!({"packages": ["numpy"]}))), None);
    }
}
