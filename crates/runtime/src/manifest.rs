//! Manifest v1 types (`docs/manifest.md`), compatible with native RemoteMedia manifests.
//!
//! Parse with [`crate::validate::validate_value`] (or [`crate::executor::Executor::parse`]), which checks everything and reports
//! every problem at once; these types are what a valid manifest becomes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A whole pipeline: nodes, connections and the optional Python section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"v1"`.
    pub version: String,
    /// Name and description.
    pub metadata: Metadata,
    /// Nodes in manifest order (this order breaks ties in the topological order).
    pub nodes: Vec<NodeSpec>,
    /// Directed edges `from -> to`.
    #[serde(default)]
    pub connections: Vec<Connection>,
    /// Pyodide packages and Python modules whose `Node` subclasses become node types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonSection>,
}

impl Manifest {
    /// The Python packages the manifest asks for (`python.packages`; none without a
    /// `python` section).
    pub fn python_packages(&self) -> &[String] {
        self.python
            .as_ref()
            .map(|p| p.packages.as_slice())
            .unwrap_or_default()
    }
}

/// `metadata` of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Required pipeline name.
    pub name: String,
    /// Optional free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Unique id matching `^[A-Za-z0-9_.-]+$`.
    pub id: String,
    /// Registered node type, for example `FastResampleNode`.
    pub node_type: String,
    /// Node parameters (snake_case names); `{}` when absent.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Where the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_hint: Option<RuntimeHint>,
    /// The server the node runs on (the original SDK's field; `docs/remote.md`); `None`
    /// runs it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// `runtime_hint` of a node.
///
/// The original RemoteMedia SDK's Python hints are read as [`RuntimeHint::Python`]:
/// `"cpython"` (CPython: what runs natively here, and Pyodide is CPython too),
/// `"rust_python"` (its RustPython VM) and `"cpython_wasm"` (its CPython-on-WASI
/// build); validation warns for the last two, whose engine this runtime does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeHint {
    /// Rust registry only.
    Rust,
    /// Python registry only.
    #[serde(alias = "cpython", alias = "rust_python", alias = "cpython_wasm")]
    Python,
    /// Rust registry first, then Python (also what an absent hint means).
    Auto,
}

/// A directed edge between two node ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Id of the producing node.
    pub from: String,
    /// Id of the consuming node.
    pub to: String,
}

/// The manifest inside a manifest file, and the inputs the file carries: the original
/// SDK's test files wrap a manifest as `{"manifest": {...}, "input_data": [...]}`, a form
/// recognised by a `manifest` object and no `version`. Any other value is the manifest
/// itself, with no inputs. `input_data` items are in wire form (`docs/wire-format.md`).
pub fn manifest_part(file: &Value) -> (&Value, Option<&Vec<Value>>) {
    match file.as_object() {
        Some(root)
            if !root.contains_key("version")
                && root.get("manifest").is_some_and(Value::is_object) =>
        {
            (
                &root["manifest"],
                root.get("input_data").and_then(Value::as_array),
            )
        }
        _ => (file, None),
    }
}

/// The `python` extension of a manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PythonSection {
    /// Pyodide packages to load before the modules (for example `"numpy"`).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Module name -> Python source text.
    #[serde(default)]
    pub modules: Map<String, Value>,
}

impl PythonSection {
    /// Names of the classes in `modules` that subclass `Node` (directly, by a base
    /// named `Node` or ending in `Node`). A textual scan: enough to validate node
    /// types before Python is started; the Python worker makes the final decision.
    pub fn declared_node_types(&self) -> Vec<String> {
        let mut names = Vec::new();
        for source in self.modules.values().filter_map(Value::as_str) {
            for line in source.lines() {
                let Some(rest) = line.strip_prefix("class ") else {
                    continue;
                };
                let Some((name, bases)) = rest.split_once('(') else {
                    continue;
                };
                let bases = bases.split(')').next().unwrap_or("");
                let is_node = bases
                    .split(',')
                    .map(|b| b.trim().rsplit('.').next().unwrap_or(""))
                    .any(|b| b.ends_with("Node"));
                if is_node {
                    names.push(name.trim().to_string());
                }
            }
        }
        names
    }
}
