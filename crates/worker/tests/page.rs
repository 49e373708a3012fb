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

#[wasm_bindgen_test]
fn answers_cross_as_plain_js_objects_with_their_keys_kept() {
    use serde_json::{json, Map, Value};
    use wasm_bindgen::{JsCast, JsValue};
    let answer = json!({"status": "success", "outputs": [1, 2.5, "text", null, true, [{"x": -3}]],
        "outputs_by_node": {"p": [0]}, "metrics": {"total_ms": 0.125, "nodes": {"p": {"items_in": 1}}},
        "a key longer than the thirty-two bytes kept": {"é": "ü"}});
    // The second conversion takes its keys from the cache: the same value either way.
    for _ in 0..2 {
        let js = remotemedia_worker::boundary::to_js(&answer);
        // A plain object: its prototype is Object.prototype (not a Map's).
        let object: &js_sys::Object = js.dyn_ref().expect("an object");
        let plain = js_sys::Object::get_prototype_of(&js_sys::Object::new());
        assert_eq!(
            JsValue::from(js_sys::Object::get_prototype_of(object)),
            JsValue::from(plain)
        );
        let back: Value = serde_wasm_bindgen::from_value(js).unwrap();
        assert_eq!(back, answer);
    }
    // More distinct keys than the cache keeps (node ids of many manifests) still convert.
    let many: Map<String, Value> = (0..2000).map(|i| (format!("node{i}"), json!(i))).collect();
    let back: Value = serde_wasm_bindgen::from_value(remotemedia_worker::boundary::to_js(
        &Value::Object(many.clone()),
    ))
    .unwrap();
    assert_eq!(back, Value::Object(many));
}
