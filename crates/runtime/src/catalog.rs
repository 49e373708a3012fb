//! The node catalog, generated from the registry's parameter specs so it cannot drift
//! from the code: `remotemedia nodes` prints it as JSON, `remotemedia nodes --markdown`
//! as the page `docs/nodes.md` (checked against the file by `tests/catalog.rs`).

use serde_json::{json, Value};

use crate::params::ParamSpec;
use crate::registry::{NodeRegistry, PYTHON_BUILTINS};

fn params_json(params: &[ParamSpec]) -> Vec<Value> {
    params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "type": p.kind.describe(),
                "required": p.required,
                "default": p.default.map(|d| d.to_json()),
                "doc": p.doc,
                "aliases": p.aliases,
            })
        })
        .collect()
}

/// `{"rust": [{node_type, aliases, summary, params: [{name, type, required, default,
/// doc, aliases}]}], "python": [{node_type, summary, params}]}`.
pub fn catalog_json(registry: &NodeRegistry) -> Value {
    let rust: Vec<Value> = registry
        .factories()
        .iter()
        .map(|f| {
            json!({
                "node_type": f.node_type,
                "aliases": f.aliases,
                "summary": f.summary,
                "params": params_json(f.params),
            })
        })
        .collect();
    let python: Vec<Value> = PYTHON_BUILTINS
        .iter()
        .map(|b| {
            json!({
                "node_type": b.node_type,
                "summary": b.summary,
                "params": params_json(b.params),
            })
        })
        .collect();
    json!({ "rust": rust, "python": python })
}

/// Markdown cells must not break the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn params_markdown(out: &mut String, params: &[ParamSpec]) {
    if params.is_empty() {
        out.push_str("No parameters.\n\n");
        return;
    }
    out.push_str("| parameter | type | default | meaning |\n|---|---|---|---|\n");
    for p in params {
        let default = match (p.required, p.default) {
            (true, _) => "required".to_string(),
            (false, Some(d)) => format!("`{}`", d.to_json()),
            (false, None) => "-".to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            p.name,
            cell(&p.kind.describe()),
            cell(&default),
            cell(&if p.aliases.is_empty() {
                p.doc.to_string()
            } else {
                let names: Vec<String> = p.aliases.iter().map(|a| format!("`{a}`")).collect();
                format!("{} Also accepted as {}.", p.doc, names.join(", "))
            })
        ));
    }
    out.push('\n');
}

/// The catalog as a Markdown page (`docs/nodes.md`).
pub fn catalog_markdown(registry: &NodeRegistry) -> String {
    let mut out = String::from(
        "# Node catalog\n\n\
         Generated from the node registry's parameter specs by `remotemedia nodes --markdown`\n\
         (`crates/runtime/src/catalog.rs`); `cargo test` fails when this page and the code\n\
         differ. The same data as JSON: `remotemedia nodes`, and `docs/nodes.json`.\n\n\
         A node's `params` are checked at validation: a wrong type or a missing required\n\
         parameter is an error, an unknown one a warning.\n\n## Rust nodes\n\n",
    );
    for f in registry.factories() {
        out.push_str(&format!("### `{}`\n\n{}\n\n", f.node_type, cell(f.summary)));
        if !f.aliases.is_empty() {
            let aliases: Vec<String> = f.aliases.iter().map(|a| format!("`{a}`")).collect();
            out.push_str(&format!("Also accepted as {}.\n\n", aliases.join(", ")));
        }
        params_markdown(&mut out, f.params);
    }
    out.push_str(
        "## Python built-ins\n\n\
         Provided by the Python worker (`js-sdk/python/remotemedia/builtins.py`); see\n\
         `python-nodes.md` for writing your own.\n\n",
    );
    for b in PYTHON_BUILTINS {
        out.push_str(&format!("### `{}`\n\n{}\n\n", b.node_type, cell(b.summary)));
        params_markdown(&mut out, b.params);
    }
    out
}
