//! The worker glue inside a dedicated worker, where it runs in the product
//! (wasm-pack test --headless --chrome).
use wasm_bindgen_test::*;

mod common;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn calculator_run() {
    common::calculator_run().await;
}

#[wasm_bindgen_test]
async fn voice_pipeline_on_the_recording() {
    common::voice_pipeline_on_the_recording().await;
}

#[wasm_bindgen_test]
async fn sessions_keep_state_between_pushes() {
    common::sessions_keep_state_between_pushes().await;
}

#[wasm_bindgen_test]
async fn python_bridge_round_trip_and_errors() {
    common::python_bridge_round_trip_and_errors().await;
}
