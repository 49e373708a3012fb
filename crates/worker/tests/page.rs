//! The worker glue on a plain page (wasm-pack test --headless --chrome).
use wasm_bindgen_test::*;

mod common;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn calculator_run() {
    common::calculator_run().await;
}

#[wasm_bindgen_test]
async fn bad_input_is_an_error_answer_not_a_panic() {
    common::bad_input_is_an_error_answer_not_a_panic().await;
}

#[wasm_bindgen_test]
fn validate_reports_problems_with_paths() {
    let report = remotemedia_worker::validate_manifest(
        r#"{"version": "v1", "metadata": {"name": "x"}, "nodes": [{"id": "a", "node_type": "Nope"}]}"#,
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][0]["path"], "nodes[0].node_type");
}
