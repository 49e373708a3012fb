//! Checks shared by the page and dedicated-worker test binaries.
#![allow(dead_code)]

use js_sys::{Function, Promise};
use remotemedia_worker::WorkerRuntime;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The real recording (audio-lena, installed by npm).
pub const LENA_WAV: &[u8] = include_bytes!("../../../node_modules/audio-lena/lena.wav");

/// Awaits a runtime answer (a plain JS object) and reads it as JSON.
pub async fn resolve(promise: Promise) -> Value {
    let answer = JsFuture::from(promise)
        .await
        .expect("runtime promises never reject");
    serde_wasm_bindgen::from_value(answer).expect("answers are plain JSON data")
}

/// A JSON value as the plain JS value the worker script would pass.
pub fn js(value: &Value) -> JsValue {
    remotemedia_worker::boundary::to_js(value)
}

pub async fn calculator_run() {
    let rt = WorkerRuntime::default();
    let manifest = json!({"version": "v1", "metadata": {"name": "c"},
        "nodes": [{"id": "m", "node_type": "MultiplyNode", "params": {"factor": 3}}]});
    let result = resolve(rt.run(1, 1, js(&manifest), js(&json!([1, 2.5, [1, 2]])), None)).await;
    assert_eq!(result["status"], "success");
    assert_eq!(result["outputs"], json!([3, 7.5, [3, 6]]));
    // Named once, then run by id alone; an id never given or forgotten is an error answer.
    let again = resolve(rt.run(7, 1, JsValue::UNDEFINED, js(&json!([2])), None)).await;
    assert_eq!(again["outputs"], json!([6]), "{again}");
    rt.forget(1);
    let gone = resolve(rt.run(8, 1, JsValue::UNDEFINED, js(&json!([2])), None)).await;
    assert_eq!(gone["error"]["kind"], "manifest");
    assert!(
        gone["error"]["message"]
            .as_str()
            .unwrap()
            .contains("manifest 1 is not known"),
        "{gone}"
    );
    // A key whose value is undefined is left out, as JSON.stringify does.
    let with_undefined = js(&manifest);
    js_sys::Reflect::set(&with_undefined, &"python".into(), &JsValue::UNDEFINED).unwrap();
    let result = resolve(rt.run(2, 2, with_undefined, js(&json!([1])), None)).await;
    assert_eq!(result["outputs"], json!([3]), "{result}");
}

pub async fn voice_pipeline_on_the_recording() {
    let rt = WorkerRuntime::default();
    let manifest: Value =
        serde_json::from_str(include_str!("../../../examples/pipelines/voice.json")).unwrap();
    let input = json!([{"__binary__": true, "binary": {"meta": {}, "data": base64(LENA_WAV)}}]);
    let result = resolve(rt.run(2, 2, js(&manifest), js(&input), None)).await;
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
    let rt = WorkerRuntime::default();
    let r = resolve(rt.run(3, 3, JsValue::from_str("{not json"), js(&json!([])), None)).await;
    assert_eq!(r["error"]["kind"], "manifest");
    let ok = json!({"version": "v1", "metadata": {"name": "p"}, "nodes": [{"id": "p", "node_type": "PassThrough"}]});
    // What JSON cannot carry is refused with a message, not turned into null.
    let nan = js_sys::Array::of1(&JsValue::from_f64(f64::NAN));
    let r = resolve(rt.run(3, 3, js(&ok), nan.into(), None)).await;
    assert_eq!(r["error"]["kind"], "input");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NaN is not a finite number"),
        "{r}"
    );
    let f = js_sys::Function::new_no_args("");
    let r = resolve(rt.run(3, 3, f.into(), js(&json!([])), None)).await;
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the manifest is not plain JSON data"),
        "{r}"
    );
    let r = resolve(rt.run(4, 4, js(&ok), js(&json!({"__audio__": true})), None)).await;
    assert_eq!(r["error"]["kind"], "input");
    let bad = json!([{"__binary__": true, "binary": {"data": "@@"}}]);
    let r = resolve(rt.run(5, 5, js(&ok), js(&bad), None)).await;
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$[0].binary.data"),
        "{r}"
    );
    // The runtime still works afterwards.
    let r = resolve(rt.run(6, 6, js(&ok), js(&json!([7])), None)).await;
    assert_eq!(r["outputs"], json!([7]));
}

pub async fn sessions_keep_state_between_pushes() {
    let mut rt = WorkerRuntime::default();
    let manifest = json!({"version": "v1", "metadata": {"name": "s"}, "nodes": [{"id": "e", "node_type": "Echo"}]});
    let opened = resolve(rt.open(99, js(&manifest))).await;
    let id = opened["session"].as_u64().unwrap() as u32;
    resolve(rt.push(id, js(&json!("a")))).await;
    let second = resolve(rt.push(id, js(&json!("b")))).await;
    assert_eq!(second["outputs"][0]["data"]["counter"], 2);
    assert_eq!(resolve(rt.close(id)).await["status"], "success");
    assert_eq!(
        resolve(rt.push(id, js(&json!("c")))).await["error"]["kind"],
        "closed"
    );
    // A session dropped unclosed (its owner was garbage-collected) is freed.
    let opened = resolve(rt.open(99, JsValue::UNDEFINED)).await;
    let dropped = opened["session"].as_u64().unwrap() as u32;
    assert_eq!(rt.open_sessions(), 1);
    rt.drop_session(dropped);
    assert_eq!(rt.open_sessions(), 0);
}

/// A stand-in Python worker written in JS, on the far end of a `MessageChannel`:
/// `Shout` upper-cases text, and any other node type fails with a traceback, the way
/// the real bridge answers. Packages are recorded in `globalThis.loadedPackages`;
/// "nope" cannot be loaded.
pub async fn python_bridge_round_trip_and_errors() {
    let serve = Function::new_with_args(
        "port",
        r#"port.onmessage = (event) => {
             const m = event.data;
             globalThis.scopes = (globalThis.scopes || []).concat([m.scope ?? null]);
             let response;
             if (m.packages) {
               globalThis.loadedPackages = (globalThis.loadedPackages || []).concat(m.packages);
               response = m.packages.includes("nope")
                 ? JSON.stringify({error: {message: "could not load Python packages nope", traceback: null}})
                 : "{}";
             } else {
               const r = JSON.parse(m.request);
               response = JSON.stringify(
                 r.op === "create" ? (r.node.node_type === "Shout"
                     ? {instance: 7}
                     : {error: {message: "LookupError: unknown", traceback: "Traceback (most recent call last):\nLookupError"}})
                 : r.op === "process" ? {items: r.items.map((s) => s.toUpperCase())}
                 : {items: []});
             }
             port.postMessage({id: m.id, response});
           };"#,
    );
    let channel = web_sys::MessageChannel::new().unwrap();
    serve.call1(&JsValue::NULL, &channel.port2()).unwrap();
    let mut rt = WorkerRuntime::default();
    rt.set_python(channel.port1());
    let manifest = |t: &str| {
        json!({"version": "v1", "metadata": {"name": "py"},
        "nodes": [{"id": "s", "node_type": t, "runtime_hint": "python"}],
        "python": {"modules": {"m": "from remotemedia import Node\nclass Shout(Node):\n    pass\nclass Other(Node):\n    pass\n"}}})
    };
    let ok = resolve(rt.run(
        8,
        8,
        js(&manifest("Shout")),
        js(&json!(["hi", "there"])),
        None,
    ))
    .await;
    assert_eq!(ok["outputs"], json!(["HI", "THERE"]), "{ok}");
    // Every request of the run (create, process, flush) names the interpreter scope of
    // the manifest's modules: their SHA-256.
    let scopes = || -> Vec<Value> {
        let seen = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("scopes")).unwrap();
        serde_wasm_bindgen::from_value(seen).unwrap()
    };
    let seen = scopes();
    assert!(seen.len() >= 3, "create, process and flush: {seen:?}");
    let scope = seen[0].as_str().unwrap().to_string();
    assert!(
        scope.len() == 64 && seen.iter().all(|s| s == &seen[0]),
        "{seen:?}"
    );
    let err = resolve(rt.run(9, 9, js(&manifest("Other")), js(&json!(["x"])), None)).await;
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
        js(&m)
    };
    let ok = resolve(rt.run(
        10,
        10,
        with_packages(json!(["numpy"])),
        js(&json!(["a"])),
        None,
    ))
    .await;
    assert_eq!(ok["outputs"], json!(["A"]), "{ok}");
    // The packages load in the same interpreter as the manifest's nodes.
    assert!(scopes().iter().all(|s| s.as_str() == Some(scope.as_str())));
    let loaded =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("loadedPackages")).unwrap();
    assert_eq!(
        js_sys::JSON::stringify(&loaded)
            .unwrap()
            .as_string()
            .unwrap(),
        "[\"numpy\"]"
    );
    let failed = resolve(rt.run(
        11,
        11,
        with_packages(json!(["nope"])),
        js(&json!(["a"])),
        None,
    ))
    .await;
    assert_eq!(failed["status"], "error");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not load Python packages nope"),
        "{failed}"
    );

    // A Python call that never returns (nobody serves this port): connecting a new
    // Python worker fails it at once, and the new one serves the next run.
    let silent = web_sys::MessageChannel::new().unwrap();
    let mut rt = WorkerRuntime::default();
    rt.set_python(silent.port1());
    let stuck = rt.run(20, 20, js(&manifest("Shout")), js(&json!(["x"])), None);
    // Let the run post its request first (it then waits for an answer that never comes).
    for _ in 0..3 {
        JsFuture::from(Promise::resolve(&JsValue::NULL))
            .await
            .unwrap();
    }
    let fresh = web_sys::MessageChannel::new().unwrap();
    serve.call1(&JsValue::NULL, &fresh.port2()).unwrap();
    rt.set_python(fresh.port1());
    let failed = resolve(stuck).await;
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the Python worker was restarted"),
        "{failed}"
    );
    let ok = resolve(rt.run(21, 21, js(&manifest("Shout")), js(&json!(["y"])), None)).await;
    assert_eq!(ok["outputs"], json!(["Y"]), "{ok}");
}

fn base64(bytes: &[u8]) -> String {
    remotemedia_runtime::wire::encode(&remotemedia_runtime::RuntimeData::Binary(bytes.to_vec()))
        ["binary"]["data"]
        .as_str()
        .unwrap()
        .to_string()
}
