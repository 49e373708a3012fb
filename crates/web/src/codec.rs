//! The message codec: [`JsObjects`], serde-wasm-bindgen with a fallback for messages it
//! cannot read.
//!
//! Why not gloo-worker's default (bincode)? Both carry float32 payloads as one byte
//! run ([`Samples`](crate::Samples)); the difference measured on a 10 MB input is in
//! `tests/browser.rs` (`codec_costs_on_ten_megabytes`, figures in the README). What
//! decides is failure: gloo-worker's codecs return the decoded value or panic, and a
//! panic in a wasm worker traps it for good. A JS object can be inspected: when a
//! message does not decode, this codec puts a `Malformed` marker where the payload was
//! and decodes that, so the worker answers [`RunError::Malformed`](crate::RunError)
//! and goes on. Messages in devtools stay readable too.

use gloo_worker::Codec;
use js_sys::{Array, Object, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// serde-wasm-bindgen (plain objects, bytes as `Uint8Array`), never panicking on input.
#[derive(Debug)]
pub struct JsObjects;

impl Codec for JsObjects {
    fn encode<I: Serialize>(input: I) -> JsValue {
        let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
        // Nothing in this crate's messages fails to serialize; a null is read as
        // malformed on the other side rather than panicking here.
        input.serialize(&serializer).unwrap_or(JsValue::NULL)
    }

    fn decode<O: for<'de> Deserialize<'de>>(input: JsValue) -> O {
        let error = match serde_wasm_bindgen::from_value::<O>(input.clone()) {
            Ok(value) => return value,
            Err(e) => format!("the message could not be read: {e}"),
        };
        for candidate in fallbacks(&input, &error) {
            if let Ok(value) = serde_wasm_bindgen::from_value::<O>(candidate) {
                return value;
            }
        }
        // Only a type outside this crate could get here: there is no value to return.
        wasm_bindgen::throw_str(&error)
    }
}

/// Messages to decode instead of one that failed, most specific first: the same
/// envelope with the payload replaced by a `Malformed` marker (for a worker's input,
/// a run's result, a session's answer), then envelopes that change nothing
/// (disconnecting a handler that does not exist; "worker loaded" again).
fn fallbacks(input: &JsValue, error: &str) -> Vec<JsValue> {
    let marker = |tag: &str, inner: JsValue| object(&[(tag, inner)]);
    let malformed = marker("Malformed", error.into());
    let payloads = [
        malformed.clone(),
        marker("Err", malformed.clone()),
        marker("Failed", malformed),
    ];
    let mut out = Vec::new();
    for tag in ["ProcessInput", "ProcessOutput"] {
        let Some(envelope) = Reflect::get(input, &tag.into())
            .ok()
            .filter(Array::is_array)
        else {
            continue;
        };
        let envelope = Array::from(&envelope);
        if envelope.length() != 2 {
            continue;
        }
        let original = envelope.get(1);
        // Reactors wrap payloads once more: `{Input: x}` / `{Output: x}`.
        let wrapper = ["Input", "Output"].into_iter().find(|k| {
            original.is_object() && Reflect::has(&original, &(*k).into()).unwrap_or(false)
        });
        for payload in &payloads {
            let payload = match wrapper {
                Some(k) => marker(k, payload.clone()),
                None => payload.clone(),
            };
            out.push(marker(tag, Array::of2(&envelope.get(0), &payload).into()));
        }
    }
    out.push(marker("Disconnected", JsValue::from(u32::MAX)));
    out.push(JsValue::from_str("WorkerLoaded"));
    out
}

fn object(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in entries {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}
