//! Checks shared by the page and dedicated-worker test binaries.
#![allow(dead_code)]

use js_sys::{Function, Promise};
use remotemedia_worker::WorkerRuntime;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The real recording (audio-lena, installed by npm).
pub const LENA_WAV: &[u8] = include_bytes!("../../../node_modules/audio-lena/lena.wav");

pub async fn resolve(promise: Promise) -> Value {
    let text = JsFuture::from(promise)
        .await
        .expect("runtime promises never reject");
    serde_json::from_str(&text.as_string().expect("answers are JSON text")).expect("valid JSON")
}

pub async fn calculator_run() {
    let rt = WorkerRuntime::new();
    let manifest = json!({"version": "v1", "metadata": {"name": "c"},
        "nodes": [{"id": "m", "node_type": "MultiplyNode", "params": {"factor": 3}}]});
    let result = resolve(rt.run(1, manifest.to_string(), "[1, 2.5, [1, 2]]".into())).await;
    assert_eq!(result["status"], "success");
    assert_eq!(result["outputs"], json!([3, 7.5, [3, 6]]));
}

pub async fn voice_pipeline_on_the_recording() {
    let rt = WorkerRuntime::new();
    let manifest = include_str!("../../../examples/pipelines/voice.json");
    let input = json!([{"__binary__": true, "binary": {"meta": {}, "data": base64(LENA_WAV)}}]);
    let result = resolve(rt.run(2, manifest.into(), input.to_string())).await;
    assert_eq!(result["status"], "success", "{result}");
    // outputs_by_node holds indices into outputs.
    let vad = result["outputs_by_node"]["vad"][0].as_u64().unwrap() as usize;
    let meta = &result["outputs"][vad]["audio"]["meta"];
    assert_eq!(meta["sample_rate"], 16000);
    assert_eq!(meta["frames"], 196348);
    assert!(
        meta["metadata"]["vad"]["segments"]
            .as_array()
            .unwrap()
            .len()
            >= 3
    );
    // The worker's clock is performance.now(): decoding and resampling 12 s of audio
    // takes measurable time, and the run spans every node's time.
    let metrics = &result["metrics"];
    let node_ms: f64 = ["decode", "resample", "vad", "levels"]
        .iter()
        .map(|id| metrics["nodes"][id]["time_ms"].as_f64().unwrap())
        .sum();
    let total = metrics["total_ms"].as_f64().unwrap();
    assert!(metrics["nodes"]["resample"]["time_ms"].as_f64().unwrap() > 0.0);
    assert!(total >= node_ms - 0.01, "total {total} < nodes {node_ms}");
}

pub async fn bad_input_is_an_error_answer_not_a_panic() {
    let rt = WorkerRuntime::new();
    let r = resolve(rt.run(3, "{not json".into(), "[]".into())).await;
    assert_eq!(r["error"]["kind"], "manifest");
    let ok = json!({"version": "v1", "metadata": {"name": "p"}, "nodes": [{"id": "p", "node_type": "PassThrough"}]});
    let r = resolve(rt.run(4, ok.to_string(), "{\"__audio__\": true}".into())).await;
    assert_eq!(r["error"]["kind"], "input");
    let r = resolve(rt.run(
        5,
        ok.to_string(),
        "[{\"__binary__\": true, \"binary\": {\"data\": \"@@\"}}]".into(),
    ))
    .await;
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$[0].binary.data"),
        "{r}"
    );
    // The runtime still works afterwards.
    let r = resolve(rt.run(6, ok.to_string(), "[7]".into())).await;
    assert_eq!(r["outputs"], json!([7]));
}

pub async fn sessions_keep_state_between_pushes() {
    let mut rt = WorkerRuntime::new();
    let manifest = json!({"version": "v1", "metadata": {"name": "s"}, "nodes": [{"id": "e", "node_type": "Echo"}]});
    let opened = resolve(rt.open(manifest.to_string())).await;
    let id = opened["session"].as_u64().unwrap() as u32;
    resolve(rt.push(id, "\"a\"".into())).await;
    let second = resolve(rt.push(id, "\"b\"".into())).await;
    assert_eq!(second["outputs"][0]["data"]["counter"], 2);
    assert_eq!(resolve(rt.close(id)).await["status"], "success");
    assert_eq!(
        resolve(rt.push(id, "\"c\"".into())).await["error"]["kind"],
        "closed"
    );
}

/// A stand-in Python worker written in JS: `Shout` upper-cases text, and any other
/// node type fails with a traceback, the way the real bridge answers.
pub async fn python_bridge_round_trip_and_errors() {
    let call = Function::new_with_args(
        "text",
        r#"const r = JSON.parse(text);
           if (r.op === "create") return Promise.resolve(JSON.stringify(r.node.node_type === "Shout"
               ? {instance: 7}
               : {error: {message: "LookupError: unknown", traceback: "Traceback (most recent call last):\nLookupError"}}));
           if (r.op === "process") return Promise.resolve(JSON.stringify({items: r.items.map((s) => s.toUpperCase())}));
           return Promise.resolve(JSON.stringify({items: []}));"#,
    );
    // Packages: recorded in globalThis.loadedPackages; "nope" cannot be loaded.
    let load_packages = Function::new_with_args(
        "names",
        r#"globalThis.loadedPackages = (globalThis.loadedPackages || []).concat(names);
           return Promise.resolve(names.includes("nope")
               ? JSON.stringify({error: {message: "could not load Python packages nope", traceback: null}})
               : "{}");"#,
    );
    let mut rt = WorkerRuntime::new();
    rt.set_python(call, load_packages);
    let manifest = |t: &str| {
        json!({"version": "v1", "metadata": {"name": "py"},
        "nodes": [{"id": "s", "node_type": t, "runtime_hint": "python"}],
        "python": {"modules": {"m": "from remotemedia import Node\nclass Shout(Node):\n    pass\nclass Other(Node):\n    pass\n"}}})
    };
    let ok = resolve(rt.run(
        8,
        manifest("Shout").to_string(),
        "[\"hi\", \"there\"]".into(),
    ))
    .await;
    assert_eq!(ok["outputs"], json!(["HI", "THERE"]), "{ok}");
    let err = resolve(rt.run(9, manifest("Other").to_string(), "[\"x\"]".into())).await;
    assert_eq!(err["error"]["language"], "python");
    assert_eq!(err["error"]["node_id"], "s");
    assert!(err["error"]["traceback"]
        .as_str()
        .unwrap()
        .starts_with("Traceback"));

    // The manifest's packages are loaded before its Python nodes are created; a
    // package that cannot be loaded fails the run.
    let with_packages = |packages: Value| {
        let mut m = manifest("Shout");
        m["python"]["packages"] = packages;
        m.to_string()
    };
    let ok = resolve(rt.run(10, with_packages(json!(["numpy"])), "[\"a\"]".into())).await;
    assert_eq!(ok["outputs"], json!(["A"]), "{ok}");
    let loaded =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("loadedPackages")).unwrap();
    assert_eq!(
        js_sys::JSON::stringify(&loaded)
            .unwrap()
            .as_string()
            .unwrap(),
        "[\"numpy\"]"
    );
    let failed = resolve(rt.run(11, with_packages(json!(["nope"])), "[\"a\"]".into())).await;
    assert_eq!(failed["status"], "error");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not load Python packages nope"),
        "{failed}"
    );
}

fn base64(bytes: &[u8]) -> String {
    remotemedia_runtime::wire::encode(&remotemedia_runtime::RuntimeData::Binary(bytes.to_vec()))
        ["binary"]["data"]
        .as_str()
        .unwrap()
        .to_string()
}
