//! The compatibility suite, natively: every case of `test-vectors/original/cases.json`
//! (the original RemoteMedia SDK's manifests and packages, and equivalents of its
//! documented examples) run through the CLI's path (file or `.rmpkg`, `input_data`, the
//! embedded CPython for Python nodes), compared with the original's recorded outputs.
//! `tests-web/original-sdk.test.mjs` runs the same cases in Chromium.
mod common;

use remotemedia_runtime::executor::{CancelFlag, Executor};
use remotemedia_runtime::{manifest, native_python, package, wire, RunError};
use serde_json::{json, Value};

fn cases() -> Vec<Value> {
    let path = common::repo().join("test-vectors/original/cases.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all["cases"].as_array().unwrap().clone()
}

/// Runs one case as the CLI does; the result JSON or the error JSON.
fn run_case(case: &Value) -> Value {
    let path = common::repo()
        .join("test-vectors/original")
        .join(case["file"].as_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    let file = if package::is_package(&bytes) {
        match package::read(&bytes) {
            Ok(p) => p.manifest,
            Err(e) => return RunError::Manifest(Box::new(e.report())).to_json(),
        }
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    let executor = Executor::default().with_external(native_python::provider());
    let parsed = match executor.parse(&file) {
        Ok(m) => m,
        Err(e) => return e.to_json(),
    };
    let inputs = match (case.get("inputs"), manifest::manifest_part(&file).1) {
        (Some(Value::Array(items)), _) | (None, Some(items)) => wire::decode_all(items).unwrap(),
        _ => Vec::new(),
    };
    match pollster::block_on(executor.run(&parsed, inputs, &CancelFlag::new())) {
        Ok(result) => result.to_json(),
        Err(e) => e.to_json(),
    }
}

#[test]
fn the_original_sdks_manifests_give_its_recorded_outputs() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        let got = run_case(&case);
        let ok = if let Some(outputs) = expect.get("outputs") {
            got["status"] == "success" && &got["outputs"] == outputs
        } else {
            let error = &expect["error"];
            let e = &got["error"];
            let path_ok = error.get("path").is_none_or(|path| {
                e["errors"]
                    .as_array()
                    .is_some_and(|list| list.iter().any(|p| &p["path"] == path))
            });
            let text_ok = error.get("contains").is_none_or(|text| {
                e["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains(text.as_str().unwrap())
            });
            got["status"] == "error" && e["kind"] == error["kind"] && path_ok && text_ok
        };
        if !ok {
            failures.push(json!({"case": name, "expected": expect, "got": got}));
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        serde_json::to_string_pretty(&failures).unwrap()
    );
}

#[test]
fn the_original_sdks_forms_are_accepted_with_warnings_where_approximate() {
    let executor = Executor::default().with_external(native_python::provider());
    let (manifest, report) = executor.validate(&json!({
        "manifest": {
            "version": "v1",
            "metadata": {"name": "hints"},
            "runtime": {"target": "wasm32-wasi"},
            "nodes": [
                {"id": "text.1", "node_type": "TextProcessorNode", "runtime_hint": "cpython"},
                {"id": "text.2", "node_type": "TextProcessorNode", "runtime_hint": "rust_python"},
                {"id": "text.3", "node_type": "TextProcessorNode", "runtime_hint": "cpython_wasm"}
            ],
            "connections": [{"from": "text.1", "to": "text.2"}, {"from": "text.2", "to": "text.3"}]
        },
        "input_data": ["hi"]
    }));
    let manifest = manifest.unwrap_or_else(|| panic!("{report}"));
    assert_eq!(manifest.nodes[1].id, "text.2");
    let warned: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        warned,
        [
            "manifest",
            "runtime",
            "nodes[1].runtime_hint",
            "nodes[2].runtime_hint"
        ],
        "{:#?}",
        report.warnings
    );
    assert!(report.warnings[2].message.contains("RustPython"));
    assert_eq!(report.python_nodes, ["text.1", "text.2", "text.3"]);
}
