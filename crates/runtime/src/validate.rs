//! Manifest validation (`docs/manifest.md`): every problem at once, each with a JSON path
//! (`nodes[2].params.target_rate`).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::graph::Graph;
use crate::limits::Limits;
use crate::manifest::{Manifest, RuntimeHint};
use crate::params::{self, Params};
use crate::registry::NodeRegistry;
use crate::wire::json_kind;

pub use crate::suggest::closest;

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON path inside the manifest, for example `nodes[1].params.factor`.
    pub path: String,
    /// What is wrong: expected vs. got, or the closest known names.
    pub message: String,
}

/// The outcome of validation: `valid` is true when `errors` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationReport {
    /// True when there are no errors.
    pub valid: bool,
    /// Problems that make the manifest unusable.
    pub errors: Vec<Problem>,
    /// Fields accepted but unused, unknown params, and similar.
    pub warnings: Vec<Problem>,
    /// Ids of the nodes that run in Python, in manifest order (valid manifests only):
    /// what tells a host whether to start Python for this manifest.
    pub python_nodes: Vec<String>,
    /// Python packages the manifest asks for (`python.packages`; valid manifests only).
    pub python_packages: Vec<String>,
    /// Model files its Rust nodes need (`silero_vad_v6.onnx` for `SileroVADNode`; valid
    /// manifests only): what a host fetches and gives the executor first
    /// ([`crate::models::store`]).
    pub models: Vec<String>,
    /// The nodes that run on a server (`host`, `RemotePipelineNode`; valid manifests
    /// only), in manifest order: the server checks their types and parameters.
    pub remote_nodes: Vec<RemoteNode>,
}

/// A node of the manifest that runs on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteNode {
    /// Its id.
    pub node_id: String,
    /// The server, as the manifest wrote it.
    pub server: String,
}

impl ValidationReport {
    /// A report with one error: for a manifest that could not even be read (not JSON).
    pub fn unreadable(path: &str, message: impl Into<String>) -> ValidationReport {
        let mut c = Collector::default();
        c.error(path, message);
        c.finish()
    }
}

impl std::fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid manifest ({} problem(s))", self.errors.len())?;
        for p in &self.errors {
            write!(f, "\n  {}: {}", p.path, p.message)?;
        }
        Ok(())
    }
}

/// Fields of native RemoteMedia node specs that this runtime accepts and ignores.
const NATIVE_NODE_FIELDS: [&str; 8] = [
    "is_streaming",
    "capabilities",
    "execution",
    "input_types",
    "output_types",
    "metadata",
    "is_source",
    "is_sink",
];

/// What the validator checks a manifest against: the Rust registry, the external
/// (Python) types and the executor's limits on parameters.
#[derive(Debug, Clone, Copy)]
pub struct KnownTypes<'a> {
    /// Rust node types.
    pub rust: &'a NodeRegistry,
    /// Python node types available without the manifest (built-ins); types declared
    /// in the manifest's `python.modules` are added automatically.
    pub python: &'a [String],
    /// The limits Rust nodes' parameters are checked against (chunk sizes, hops).
    pub limits: Limits,
}

/// Validates a manifest given as JSON text. A JSON syntax error is one problem at `$`.
pub fn validate_str(text: &str, known: KnownTypes<'_>) -> (Option<Manifest>, ValidationReport) {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => validate_value(&value, known),
        Err(e) => (
            None,
            ValidationReport::unreadable("$", format!("not valid JSON: {e}")),
        ),
    }
}

/// Validates a parsed manifest; returns the typed manifest when valid.
pub fn validate_value(file: &Value, known: KnownTypes<'_>) -> (Option<Manifest>, ValidationReport) {
    let mut c = Collector::default();
    let (value, input_data) = crate::manifest::manifest_part(file);
    if !std::ptr::eq(value, file) {
        c.warn(
            "manifest",
            format!(
                "the original SDK's test-file form {{manifest, input_data}}: the manifest is read from here{}",
                if input_data.is_some() { "; input_data are the inputs when a run is given none" } else { "" }
            ),
        );
    }
    let Some(root) = value.as_object() else {
        c.error(
            "$",
            format!("a manifest is a JSON object, got {}", json_kind(value)),
        );
        return (None, c.finish());
    };
    for key in root.keys() {
        if ["version", "metadata", "nodes", "connections", "python"].contains(&key.as_str()) {
            continue;
        }
        let why = if key == "runtime" {
            "native RemoteMedia field (a package's runtime target), accepted but not used by this runtime"
        } else {
            "unknown top-level field, ignored"
        };
        c.warn(key, why);
    }
    match root.get("version") {
        Some(Value::String(v)) if v == "v1" => {}
        Some(other) => c.error("version", format!("must be \"v1\", got {other}")),
        None => c.error("version", "missing (must be \"v1\")"),
    }
    match root.get("metadata") {
        Some(Value::Object(meta)) => match meta.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => {}
            Some(other) => c.error(
                "metadata.name",
                format!("expected a non-empty string, got {other}"),
            ),
            None => c.error("metadata.name", "missing"),
        },
        Some(other) => c.error(
            "metadata",
            format!("expected an object, got {}", json_kind(other)),
        ),
        None => c.error("metadata", "missing (needs at least a name)"),
    }
    let python_types = check_python(root.get("python"), known, &mut c);
    let ids = check_nodes(root.get("nodes"), known, &python_types, &mut c);
    check_connections(root.get("connections"), &ids, &mut c);
    check_cycles(root.get("connections"), ids, &mut c);

    if !c.errors.is_empty() {
        return (None, c.finish());
    }
    let manifest: Manifest = match serde_json::from_value(value.clone()) {
        Ok(m) => m,
        Err(e) => {
            c.error("$", e.to_string());
            return (None, c.finish());
        }
    };
    let mut report = c.finish();
    let remote = |n: &&crate::manifest::NodeSpec| crate::remote::target_of(n).is_some();
    report.remote_nodes = manifest
        .nodes
        .iter()
        .filter_map(|n| {
            crate::remote::target_of(n).map(|t| RemoteNode {
                node_id: n.id.clone(),
                server: t.server,
            })
        })
        .collect();
    report.python_nodes = manifest
        .nodes
        .iter()
        .filter(|n| !remote(n))
        .filter(|n| known.rust.resolve(n, manifest.python.as_ref()).is_none())
        .map(|n| n.id.clone())
        .collect();
    report.python_packages = manifest.python_packages().to_vec();
    for node in manifest.nodes.iter().filter(|n| !remote(n)) {
        let Some(factory) = known.rust.resolve(node, manifest.python.as_ref()) else {
            continue;
        };
        for model in crate::models::store::files_for(factory.node_type) {
            if !report.models.iter().any(|m| m == model.file) {
                report.models.push(model.file.to_string());
            }
        }
    }
    (Some(manifest), report)
}

/// Reports one cycle among the connections whose ends are known ids.
fn check_cycles(connections: Option<&Value>, ids: Vec<String>, c: &mut Collector) {
    let edges: Vec<(&str, &str)> = connections
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|conn| Some((conn.get("from")?.as_str()?, conn.get("to")?.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    if let Err(cycle) = Graph::from_edges(ids, edges) {
        c.error(
            "connections",
            format!("cycle: {}", cycle.cycle.join(" -> ")),
        );
    }
}

fn check_python(python: Option<&Value>, known: KnownTypes<'_>, c: &mut Collector) -> Vec<String> {
    let mut types: Vec<String> = known.python.to_vec();
    let Some(python) = python else { return types };
    let Some(section) = python.as_object() else {
        c.error(
            "python",
            format!("expected an object, got {}", json_kind(python)),
        );
        return types;
    };
    if let Some(packages) = section.get("packages") {
        match packages.as_array() {
            Some(list) => {
                for (i, package) in list.iter().enumerate() {
                    match package.as_str() {
                        Some(name) if is_package_name(name) => {}
                        // A URL or path would let a manifest load code from anywhere:
                        // packages come only from the Pyodide index the app configures.
                        Some(name) => c.error(
                            &format!("python.packages[{i}]"),
                            format!("\"{name}\" is not a package name (letters, digits, - _ .); packages come from the app's Pyodide index, never from a URL"),
                        ),
                        None => c.error(
                            &format!("python.packages[{i}]"),
                            format!("expected a package name, got {}", json_kind(package)),
                        ),
                    }
                }
            }
            None => c.error("python.packages", "expected an array of package names"),
        }
    }
    if let Some(modules) = section.get("modules") {
        match modules.as_object() {
            Some(map) => {
                for (name, source) in map {
                    if !source.is_string() {
                        c.error(
                            &format!("python.modules.{name}"),
                            format!("expected Python source text, got {}", json_kind(source)),
                        );
                    }
                }
                if let Ok(section) =
                    serde_json::from_value::<crate::manifest::PythonSection>(python.clone())
                {
                    types.extend(section.declared_node_types());
                }
            }
            None => c.error("python.modules", "expected an object of name -> source"),
        }
    }
    types
}

/// Checks nodes; returns the ids seen (for connection checks).
fn check_nodes(
    nodes: Option<&Value>,
    known: KnownTypes<'_>,
    python_types: &[String],
    c: &mut Collector,
) -> Vec<String> {
    let mut ids = Vec::new();
    let Some(nodes) = nodes else {
        c.error("nodes", "missing (a pipeline needs at least one node)");
        return ids;
    };
    let Some(nodes) = nodes.as_array() else {
        c.error(
            "nodes",
            format!("expected an array, got {}", json_kind(nodes)),
        );
        return ids;
    };
    if nodes.is_empty() {
        c.error("nodes", "a pipeline needs at least one node");
    }
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let at = format!("nodes[{i}]");
        let Some(node) = node.as_object() else {
            c.error(&at, format!("expected an object, got {}", json_kind(node)));
            continue;
        };
        match node.get("id").and_then(Value::as_str) {
            Some(id) if is_valid_id(id) => {
                if let Some(first) = first_seen.get(id) {
                    c.error(
                        &format!("{at}.id"),
                        format!("duplicate id \"{id}\" (first used by nodes[{first}])"),
                    );
                } else {
                    first_seen.insert(id.to_string(), i);
                }
                ids.push(id.to_string());
            }
            Some(id) => c.error(
                &format!("{at}.id"),
                format!("\"{id}\" must match ^[A-Za-z0-9_.-]+$"),
            ),
            None => c.error(&format!("{at}.id"), "missing or not a string"),
        }
        for key in node.keys() {
            if ["id", "node_type", "params", "runtime_hint"].contains(&key.as_str()) {
                continue;
            }
            if key == "host" {
                match &node[key] {
                    Value::String(h) if !h.trim().is_empty() => {}
                    Value::Null => {}
                    other => c.error(
                        &format!("{at}.host"),
                        format!("expected a server address (host:port or a URL), got {other}"),
                    ),
                }
                continue;
            }
            let why = if NATIVE_NODE_FIELDS.contains(&key.as_str()) {
                "native RemoteMedia field, accepted but not used by this runtime"
            } else {
                "unknown field, ignored"
            };
            c.warn(&format!("{at}.{key}"), why);
        }
        let hint = match node.get("runtime_hint") {
            None | Some(Value::Null) => RuntimeHint::Auto,
            Some(v) => match serde_json::from_value::<RuntimeHint>(v.clone()) {
                Ok(h) => {
                    if let Some(engine) = approximate_hint(v) {
                        c.warn(
                            &format!("{at}.runtime_hint"),
                            format!("{v} ({engine}) runs as \"python\" here: CPython natively, Pyodide in the browser"),
                        );
                    }
                    h
                }
                Err(_) => {
                    c.error(
                        &format!("{at}.runtime_hint"),
                        format!("expected \"rust\", \"python\", \"auto\" or the original SDK's \"cpython\", \"rust_python\", \"cpython_wasm\", got {v}"),
                    );
                    RuntimeHint::Auto
                }
            },
        };
        let params = match node.get("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(other) => {
                c.error(
                    &format!("{at}.params"),
                    format!("expected an object, got {}", json_kind(other)),
                );
                Map::new()
            }
        };
        let Some(node_type) = node.get("node_type").and_then(Value::as_str) else {
            c.error(&format!("{at}.node_type"), "missing or not a string");
            continue;
        };
        if node
            .get("host")
            .and_then(Value::as_str)
            .is_some_and(|h| !h.trim().is_empty())
        {
            // It runs on the server, which checks its type and parameters against its own
            // catalog (which may have types this runtime lacks).
            continue;
        }
        check_node_type(&at, node_type, hint, &params, known, python_types, c);
    }
    ids
}

fn check_node_type(
    at: &str,
    node_type: &str,
    hint: RuntimeHint,
    params: &Map<String, Value>,
    known: KnownTypes<'_>,
    python_types: &[String],
    c: &mut Collector,
) {
    let in_python = python_types.iter().any(|t| t == node_type);
    // A Python hint on a type only Rust has (the original SDK's CalculatorNode under
    // `cpython`) runs the Rust node: the same rule as NodeRegistry::resolve.
    let rust = (hint != RuntimeHint::Python || !in_python)
        .then(|| known.rust.find(node_type))
        .flatten();
    if let Some(factory) = rust {
        if hint == RuntimeHint::Python {
            c.warn(
                &format!("{at}.runtime_hint"),
                format!(
                    "there is no Python node \"{node_type}\" here; the Rust {} runs instead",
                    factory.node_type
                ),
            );
        }
        let result = params::check(factory.params, params);
        for (param, message) in result.warnings {
            c.warn(&format!("{at}.params.{param}"), message);
        }
        let had_errors = !result.errors.is_empty();
        for (param, message) in result.errors {
            c.error(&format!("{at}.params.{param}"), message);
        }
        if !had_errors {
            if let Err(e) =
                (factory.create)(Params::new(params, factory.params).with_limits(known.limits))
            {
                c.error(&format!("{at}.params.{}", e.param), e.message);
            }
        }
        return;
    }
    if hint != RuntimeHint::Rust && in_python {
        return;
    }
    let mut candidates: Vec<&str> = Vec::new();
    if hint != RuntimeHint::Python {
        candidates.extend(known.rust.names());
    }
    if hint != RuntimeHint::Rust {
        candidates.extend(python_types.iter().map(String::as_str));
    }
    let registry = match hint {
        RuntimeHint::Rust => "Rust",
        RuntimeHint::Python => "Python",
        RuntimeHint::Auto => "Rust or Python",
    };
    let hint_text = c
        .suggest(node_type, &candidates)
        .map(|names| format!("; closest known: {}", names.join(", ")))
        .unwrap_or_default();
    c.error(
        &format!("{at}.node_type"),
        format!("unknown {registry} node type \"{node_type}\"{hint_text}"),
    );
}

fn check_connections(connections: Option<&Value>, ids: &[String], c: &mut Collector) {
    let known: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let Some(connections) = connections else {
        return;
    };
    let Some(list) = connections.as_array() else {
        c.error(
            "connections",
            format!("expected an array, got {}", json_kind(connections)),
        );
        return;
    };
    for (i, conn) in list.iter().enumerate() {
        let at = format!("connections[{i}]");
        let Some(conn) = conn.as_object() else {
            c.error(&at, "expected an object {\"from\": id, \"to\": id}");
            continue;
        };
        for end in ["from", "to"] {
            match conn.get(end).and_then(Value::as_str) {
                Some(id) if known.contains(id) => {}
                Some(id) => {
                    let hint = c
                        .suggest_among(id, || ids.iter().map(String::as_str).collect())
                        .map(|n| format!("; did you mean {}?", n.join(" or ")))
                        .unwrap_or_default();
                    c.error(
                        &format!("{at}.{end}"),
                        format!("dangling connection: no node with id \"{id}\"{hint}"),
                    );
                }
                None => c.error(&format!("{at}.{end}"), "missing or not a string"),
            }
        }
        for key in conn
            .keys()
            .filter(|k| !["from", "to"].contains(&k.as_str()))
        {
            c.warn(&format!("{at}.{key}"), "unknown field, ignored");
        }
    }
}

/// A Pyodide package name (as in its lock file): `numpy`, `scikit-learn`, `pyodide_http`.
fn is_package_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
        && !name.starts_with('.')
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
}

/// The engine an original-SDK hint names when this runtime only approximates it.
fn approximate_hint(hint: &Value) -> Option<&'static str> {
    match hint.as_str()? {
        "rust_python" => Some("the original's RustPython VM"),
        "cpython_wasm" => Some("the original's CPython on WASI"),
        _ => None,
    }
}

#[derive(Default)]
struct Collector {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    /// Problems past [`MAX_PROBLEMS`], counted but not listed.
    errors_left_out: usize,
    warnings_left_out: usize,
    /// "Did you mean" suggestions made so far: each costs a string distance per
    /// candidate, so only the first [`MAX_SUGGESTIONS`] problems get one (a manifest
    /// with 10k dangling connections stays linear).
    suggested: usize,
}

/// Errors (and, apart, warnings) listed per validation; the rest are counted in one
/// last problem at `$` (`... and 9000 more not listed`).
pub const MAX_PROBLEMS: usize = 1000;

/// Problems per validation that get "did you mean" suggestions.
pub const MAX_SUGGESTIONS: usize = 20;

impl Collector {
    /// [`closest`] for the first [`MAX_SUGGESTIONS`] problems, then nothing.
    fn suggest(&mut self, name: &str, candidates: &[&str]) -> Option<Vec<String>> {
        self.suggest_among(name, || candidates.to_vec())
    }

    /// [`Collector::suggest`] with the candidates built only when a suggestion is made.
    fn suggest_among<'a>(
        &mut self,
        name: &str,
        candidates: impl FnOnce() -> Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if self.suggested >= MAX_SUGGESTIONS {
            return None;
        }
        self.suggested += 1;
        closest(name, &candidates())
    }

    fn error(&mut self, path: &str, message: impl Into<String>) {
        if self.errors.len() >= MAX_PROBLEMS {
            self.errors_left_out += 1;
            return;
        }
        self.errors.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn warn(&mut self, path: &str, message: impl Into<String>) {
        if self.warnings.len() >= MAX_PROBLEMS {
            self.warnings_left_out += 1;
            return;
        }
        self.warnings.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn finish(&mut self) -> ValidationReport {
        for (list, left_out) in [
            (&mut self.errors, self.errors_left_out),
            (&mut self.warnings, self.warnings_left_out),
        ] {
            if left_out > 0 {
                list.push(Problem {
                    path: "$".into(),
                    message: format!("... and {left_out} more not listed"),
                });
            }
        }
        ValidationReport {
            valid: self.errors.is_empty(),
            errors: std::mem::take(&mut self.errors),
            warnings: std::mem::take(&mut self.warnings),
            python_nodes: Vec::new(),
            remote_nodes: Vec::new(),
            python_packages: Vec::new(),
            models: Vec::new(),
        }
    }
}
