//! The gloo-worker workers spawned from Rust on a page, with the real audio-lena
//! recording (wasm-pack test --headless --chrome crates/web --test browser).
//!
//! The workers' scripts are the ones in `js/`, written as Blob URLs that import the
//! test's own wasm-bindgen glue (the test runner serves it next to the page).
use futures::StreamExt;
use gloo_worker::Codec;
use remotemedia_web::{Item, JsObjects, RemoteMedia, RunError, RunRequest, RunnerInput, Samples};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LENA: &[u8] = include_bytes!("../../../node_modules/audio-lena/lena.wav");
const VOICE: &str = include_str!("../../../examples/pipelines/voice.json");
const VOICE_PYTHON: &str = include_str!("../../../examples/pipelines/voice-python.json");

/// The URLs of this test's wasm-bindgen glue and wasm, from the page's resource timing
/// entries: the wasm is `<stem>_bg.wasm`, the glue `<stem>` or `<stem>.js`.
fn glue_and_wasm() -> (String, String) {
    let performance = web_sys::window().unwrap().performance().unwrap();
    let names: Vec<String> = performance
        .get_entries_by_type("resource")
        .iter()
        .filter_map(|e| js_sys::Reflect::get(&e, &"name".into()).ok()?.as_string())
        .collect();
    let wasm = names
        .iter()
        .find(|n| n.ends_with("_bg.wasm"))
        .expect("the page loaded the test's wasm")
        .clone();
    let stem = wasm.trim_end_matches("_bg.wasm").to_string();
    let glue = names
        .iter()
        .find(|n| **n == stem)
        .cloned()
        .unwrap_or(stem + ".js");
    (glue, wasm)
}

/// A module worker script (Blob URL) that loads this test's wasm and calls `register`.
fn loader(register: &str) -> String {
    let (glue, wasm) = glue_and_wasm();
    let source = format!("import init, {{ {register} }} from '{glue}';\nawait init({{ module_or_path: '{wasm}' }});\n{register}();\n");
    let parts = js_sys::Array::of1(&JsValue::from_str(&source));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).unwrap();
    web_sys::Url::create_object_url_with_blob(&blob).unwrap()
}

// The crate's own exports are not linked into a test binary (nothing in it calls them):
// the workers' scripts call these instead.
#[wasm_bindgen::prelude::wasm_bindgen(js_name = testRegisterRunner)]
pub fn test_register_runner() {
    remotemedia_web::register_runner();
}

#[wasm_bindgen::prelude::wasm_bindgen(js_name = testRegisterSessions)]
pub fn test_register_sessions() {
    remotemedia_web::register_sessions();
}

fn remote() -> RemoteMedia {
    RemoteMedia::spawn(
        &loader("testRegisterRunner"),
        &loader("testRegisterSessions"),
    )
}

/// The VAD segments and the levels of a voice.json result: `(vad metadata, levels JSON)`.
fn voice_outputs(outputs: &[remotemedia_web::Output]) -> (serde_json::Value, serde_json::Value) {
    let mut vad = serde_json::Value::Null;
    let mut levels = serde_json::Value::Null;
    for o in outputs {
        match (&*o.node_id, &o.data) {
            (
                "vad",
                Item::Audio {
                    metadata: Some(m), ..
                },
            ) => vad = serde_json::from_str::<serde_json::Value>(m).unwrap()["vad"].take(),
            ("levels", Item::Json(j)) => levels = serde_json::from_str(j).unwrap(),
            _ => {}
        }
    }
    (vad, levels)
}

#[wasm_bindgen_test]
async fn a_batch_run_of_the_recording_in_the_worker_finds_the_speech() {
    let rm = remote();
    let result = rm
        .run(VOICE, vec![Item::Binary(LENA.to_vec())])
        .await
        .expect("voice.json runs");
    assert_eq!(
        result.execution_order,
        ["decode", "resample", "vad", "levels"]
    );
    let (vad, levels) = voice_outputs(&result.outputs);
    let segments = vad["segments"].as_array().expect("segments");
    assert!(segments.len() >= 3, "{vad}");
    assert!(levels["rms_db"].as_f64().unwrap() < -10.0, "{levels}");
    let resampled = result.outputs_of("vad").next().unwrap();
    let Item::Audio {
        samples,
        sample_rate,
        ..
    } = resampled
    else {
        panic!("{resampled:?}")
    };
    assert_eq!(*sample_rate, 16_000);
    assert!((samples.0.len() as f64 / 16_000.0 - 12.27).abs() < 0.05);
}

#[wasm_bindgen_test]
async fn a_session_fed_in_chunks_finds_the_same_speech_as_the_batch_run() {
    let rm = remote();
    let decode = r#"{"version": "v1", "metadata": {"name": "d"}, "nodes": [{"id": "d", "node_type": "AudioDecoderNode"}]}"#;
    let decoded = rm
        .run(decode, vec![Item::Binary(LENA.to_vec())])
        .await
        .unwrap()
        .outputs
        .remove(0)
        .data;
    let Item::Audio {
        samples,
        sample_rate,
        channels,
        ..
    } = decoded
    else {
        panic!()
    };
    let streaming = r#"{"version": "v1", "metadata": {"name": "s"}, "nodes": [
        {"id": "resample", "node_type": "FastResampleNode", "params": {"target_rate": 16000}},
        {"id": "vad", "node_type": "VoiceActivityDetector", "params": {"include_metadata": false}}],
        "connections": [{"from": "resample", "to": "vad"}]}"#;
    let batch = rm
        .run(
            streaming,
            vec![Item::Audio {
                samples: samples.clone(),
                sample_rate,
                channels,
                metadata: None,
            }],
        )
        .await
        .unwrap();
    let (batch_vad, _) = voice_outputs(&batch.outputs);

    let mut session = rm.open(streaming).await.expect("opens");
    let mut segments = Vec::new();
    let mut collect = |outputs: Vec<remotemedia_web::Output>| {
        for (vad, _) in outputs.chunks(1).map(voice_outputs) {
            segments.extend(vad["segments"].as_array().cloned().unwrap_or_default());
        }
    };
    for chunk in samples.0.chunks(4410) {
        collect(
            session
                .push(Item::Audio {
                    samples: Samples(chunk.to_vec()),
                    sample_rate,
                    channels,
                    metadata: None,
                })
                .await
                .unwrap(),
        );
    }
    collect(session.close().await.unwrap());
    assert_eq!(serde_json::Value::Array(segments), batch_vad["segments"]);
}

/// Resolves after `ms` milliseconds (the page's `setTimeout`).
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("a page");
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[wasm_bindgen_test]
async fn closing_or_dropping_a_session_frees_it_in_the_worker() {
    let rm = remote();
    assert_eq!(rm.open_sessions().await.unwrap(), 0);
    let echo = r#"{"version": "v1", "metadata": {"name": "e"}, "nodes": [{"id": "e", "node_type": "Echo"}]}"#;
    let mut kept = rm.open(echo).await.unwrap();
    let mut dropped = rm.open(echo).await.unwrap();
    dropped.push(Item::Text("a".into())).await.unwrap();
    assert_eq!(rm.open_sessions().await.unwrap(), 2);
    drop(dropped);
    // The bridge's end reaches the worker as a message: wait for it, up to 5 s.
    let mut held = 2;
    for _ in 0..100 {
        held = rm.open_sessions().await.unwrap();
        if held == 1 {
            break;
        }
        sleep(50).await;
    }
    assert_eq!(held, 1, "the dropped session is still held by the worker");
    // The other session is unharmed, and closing it frees it.
    let echoed = kept.push(Item::Text("b".into())).await.unwrap();
    assert_eq!(echoed.len(), 1);
    kept.close().await.unwrap();
    assert_eq!(rm.open_sessions().await.unwrap(), 0);
}

#[wasm_bindgen_test]
async fn python_manifests_and_bad_sessions_are_typed_errors() {
    let rm = remote();
    assert_eq!(
        rm.run(VOICE_PYTHON, vec![]).await.unwrap_err(),
        RunError::NeedsPython(vec!["stats".into()])
    );
    let Err(RunError::Manifest(problems)) = rm
        .run(
            r#"{"version": "v1", "nodes": [{"id": "a", "node_type": "Nope"}]}"#,
            vec![],
        )
        .await
    else {
        panic!("an invalid manifest ran")
    };
    assert!(
        problems.iter().any(|p| p.path == "nodes[0].node_type"),
        "{problems:?}"
    );
    let Err(RunError::Input(_)) = rm.run(VOICE, vec![Item::Json("{not json".into())]).await else {
        panic!("bad JSON accepted")
    };
    let mut session = rm.open(VOICE).await.unwrap();
    let Err(RunError::Node { node_id, .. }) = session.push(Item::Text("not audio".into())).await
    else {
        panic!()
    };
    assert_eq!(node_id, "decode");
    assert!(matches!(
        session.push(Item::Binary(LENA.to_vec())).await,
        Err(RunError::SessionClosed(_))
    ));
}

/// gloo-worker's envelope to a worker, as it serializes (its type is private).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
enum ToWorker {
    Connected(u32),
    ProcessInput(u32, RunnerInput),
    Disconnected(u32),
    Destroy,
}

#[wasm_bindgen_test]
fn the_codec_turns_an_unreadable_payload_into_a_malformed_marker() {
    let garbage =
        js_sys::JSON::parse(r#"{"ProcessInput": [7, {"Run": {"manifest": 42}}]}"#).unwrap();
    let ToWorker::ProcessInput(7, RunnerInput::Malformed(why)) =
        JsObjects::decode::<ToWorker>(garbage)
    else {
        panic!()
    };
    assert!(why.contains("could not be read"), "{why}");
    // Not an envelope at all: a no-op disconnect, not a panic.
    assert_eq!(
        JsObjects::decode::<ToWorker>(JsValue::from_str("hello")),
        ToWorker::Disconnected(u32::MAX)
    );
}

#[wasm_bindgen_test]
async fn a_malformed_message_to_the_worker_is_answered_and_the_worker_goes_on() {
    // A raw worker on the runner script, spoken to directly in gloo-worker's envelopes.
    let options = web_sys::WorkerOptions::new();
    options.set_type(web_sys::WorkerType::Module);
    let worker =
        web_sys::Worker::new_with_options(&loader("testRegisterRunner"), &options).unwrap();
    let (tx, mut rx) = futures::channel::mpsc::unbounded::<JsValue>();
    let on_message = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |e: web_sys::MessageEvent| {
            let _ = tx.unbounded_send(e.data());
        },
    );
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    assert_eq!(
        rx.next().await.unwrap().as_string().as_deref(),
        Some("WorkerLoaded")
    );
    let post = |text: &str| {
        worker
            .post_message(&js_sys::JSON::parse(text).unwrap())
            .unwrap()
    };
    post(r#"{"Connected": 1}"#);
    post(r#"{"ProcessInput": [1, {"Run": {"manifest": 42, "inputs": "nope"}}]}"#);
    let answer = js_sys::JSON::stringify(&rx.next().await.unwrap())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(
        answer.starts_with(
            r#"{"ProcessOutput":[1,{"Err":{"Malformed":"the message could not be read"#
        ),
        "{answer}"
    );
    let calculator = include_str!("../../../examples/pipelines/calculator.json");
    let request = JsObjects::encode(ToWorker::ProcessInput(
        1,
        RunnerInput::Run(RunRequest {
            manifest: calculator.into(),
            inputs: vec![Item::Json("3".into())],
        }),
    ));
    worker.post_message(&request).unwrap();
    let answer = js_sys::JSON::stringify(&rx.next().await.unwrap())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(
        answer.contains(r#""Ok""#),
        "the worker did not go on: {answer}"
    );
    worker.terminate();
}

/// Milliseconds of `f`, the median of 5 after one warm-up.
fn time(mut f: impl FnMut()) -> f64 {
    let performance = web_sys::window().unwrap().performance().unwrap();
    f();
    let mut t: Vec<f64> = (0..5)
        .map(|_| {
            let t0 = performance.now();
            f();
            performance.now() - t0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[2]
}

#[wasm_bindgen_test]
fn codec_costs_on_ten_megabytes() {
    // 10 MB of float32 audio in a run request, encoded and decoded (both sides of a
    // postMessage, without the structured clone itself) by each codec.
    let samples: Vec<f32> = (0..10 * 1024 * 1024 / 4)
        .map(|i| (i as f32 * 0.001).sin())
        .collect();
    let request = RunnerInput::Run(RunRequest {
        manifest: VOICE.into(),
        inputs: vec![Item::Audio {
            samples: Samples(samples),
            sample_rate: 16_000,
            channels: 1,
            metadata: None,
        }],
    });
    let js = time(|| {
        let back: RunnerInput = JsObjects::decode(JsObjects::encode(request.clone()));
        assert_eq!(back, request);
    });
    let bincode = time(|| {
        let back: RunnerInput =
            gloo_worker::Bincode::decode(gloo_worker::Bincode::encode(request.clone()));
        assert_eq!(back, request);
    });
    console_log!("codec, 10 MB float32 run request, encode + decode: serde-wasm-bindgen (JsObjects) {js:.1} ms, bincode {bincode:.1} ms");
}
