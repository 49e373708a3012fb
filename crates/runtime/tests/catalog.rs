//! The node catalog in `docs/` is generated from the registry and must match it; every
//! parameter is documented and its default is one its own type accepts, and no node
//! constructor reads a parameter that has no declared default.
mod common;

use remotemedia_runtime::catalog::{catalog_json, catalog_markdown};
use remotemedia_runtime::params::{ParamKind, ParamSpec, Params};
use remotemedia_runtime::registry::PYTHON_BUILTINS;
use remotemedia_runtime::NodeRegistry;
use serde_json::{Map, Value};

const REGENERATE: &str = "regenerate with: cargo run -q -p remotemedia-runtime --bin remotemedia -- nodes --markdown > docs/nodes.md && cargo run -q -p remotemedia-runtime --bin remotemedia -- nodes > docs/nodes.json";

#[test]
fn docs_nodes_md_and_json_are_generated_from_the_registry() {
    let registry = NodeRegistry::builtin();
    let md = std::fs::read_to_string(common::repo().join("docs/nodes.md")).unwrap_or_default();
    assert!(
        md.trim_end() == catalog_markdown(&registry).trim_end(),
        "docs/nodes.md is stale; {REGENERATE}"
    );
    let json = std::fs::read_to_string(common::repo().join("docs/nodes.json")).unwrap_or_default();
    let json: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
    assert!(
        json == catalog_json(&registry),
        "docs/nodes.json is stale; {REGENERATE}"
    );
}

#[test]
fn docs_errors_json_is_the_error_kinds_table() {
    let table = serde_json::to_value(remotemedia_runtime::error_kinds::ERROR_KINDS).unwrap();
    let json = std::fs::read_to_string(common::repo().join("docs/errors.json")).unwrap_or_default();
    assert!(
        serde_json::from_str::<Value>(&json).unwrap_or(Value::Null) == table,
        "docs/errors.json is stale; regenerate with: cargo run -q -p remotemedia-runtime --bin remotemedia -- errors > docs/errors.json"
    );
    // Every kind the runtime makes names its class from the table.
    for kind in ["manifest", "node", "cancelled", "closed"] {
        assert_ne!(
            remotemedia_runtime::error_kinds::class_of(kind),
            "RemoteMediaError",
            "{kind}"
        );
    }
}

fn all_specs() -> Vec<(&'static str, ParamSpec)> {
    let registry = NodeRegistry::builtin();
    let rust = registry
        .factories()
        .iter()
        .flat_map(|f| f.params.iter().map(move |p| (f.node_type, *p)));
    let python = PYTHON_BUILTINS
        .iter()
        .flat_map(|b| b.params.iter().map(move |p| (b.node_type, *p)));
    rust.chain(python).collect()
}

#[test]
fn every_parameter_is_documented_and_its_default_has_its_type() {
    for (node, spec) in all_specs() {
        assert!(!spec.doc.is_empty(), "{node}.{} has no doc", spec.name);
        if let Some(default) = spec.default {
            assert!(
                !spec.required,
                "{node}.{} is required and has a default",
                spec.name
            );
            assert!(
                spec.kind.accepts(&default.to_json()),
                "{node}.{}: default {} is not a {}",
                spec.name,
                default.to_json(),
                spec.kind.describe()
            );
        }
    }
}

/// A value of each kind, for the required parameters.
fn sample(kind: ParamKind) -> Value {
    match kind {
        ParamKind::Number => Value::from(16000),
        ParamKind::Count => Value::from(1),
        ParamKind::Text | ParamKind::TextOrList => Value::from("x"),
        ParamKind::Bool => Value::from(true),
        ParamKind::NumberOrAuto => Value::from("auto"),
        ParamKind::OneOf(names) => Value::from(names[0]),
    }
}

#[test]
fn constructors_read_only_declared_defaults() {
    // Params' getters assert (in debug builds) that a parameter left out has a declared
    // default: building every node with only its required parameters trips that assertion
    // if a constructor reads one that has none.
    for factory in NodeRegistry::builtin().factories() {
        let params: Map<String, Value> = factory
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| (p.name.to_string(), sample(p.kind)))
            .collect();
        let built = (factory.create)(Params::new(&params, factory.params));
        assert!(built.is_ok(), "{}: {:?}", factory.node_type, built.err());
    }
}
