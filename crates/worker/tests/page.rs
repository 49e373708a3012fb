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
    let manifest = serde_json::json!({"version": "v1", "metadata": {"name": "x"}, "nodes": [{"id": "a", "node_type": "Nope"}]});
    // As an object (what the SDK passes) and as JSON text: the same report.
    for given in [
        common::js(&manifest),
        wasm_bindgen::JsValue::from_str(&manifest.to_string()),
    ] {
        let report = remotemedia_worker::validate_manifest(given, wasm_bindgen::JsValue::UNDEFINED);
        let report: serde_json::Value = serde_wasm_bindgen::from_value(report).unwrap();
        assert_eq!(report["valid"], false);
        assert_eq!(report["errors"][0]["path"], "nodes[0].node_type");
    }
}
