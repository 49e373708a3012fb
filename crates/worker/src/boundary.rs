//! The worker boundary: JS values into Rust through serde-wasm-bindgen, and out as
//! plain JS objects whose keys are made into JS strings once.
//!
//! Manifests, items in wire form and results cross as plain JS objects, never as JSON
//! text. [`from_js`] reads a value as JSON data and refuses what JSON cannot carry
//! (NaN, infinities, functions, typed arrays) with a message, instead of turning it
//! into `null` the way `JSON.stringify` would; [`to_js`] writes objects as plain JS
//! objects (not `Map`s).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use js_sys::{Array, Object, Reflect};

use remotemedia_runtime::Limits;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use wasm_bindgen::JsValue;

/// A JS value read as JSON data; `what` names it in the error (`"the manifest"`).
///
/// As with `JSON.stringify`, an object's key whose value is `undefined` is left out and
/// `undefined` elsewhere reads as `null`. Errors: a number that is not finite, a
/// function, a symbol, a typed array or any other value JSON has no form for.
pub fn from_js(value: JsValue, what: &str) -> Result<Value, String> {
    serde_wasm_bindgen::Deserializer::from(value)
        .deserialize_any(StrictJson)
        .map_err(|e| format!("{what} is not plain JSON data: {e}"))
}

/// The SDK's `limits` option (`{maxFrames?, maxOutputValues?}`, whole numbers; either
/// left out keeps its default) as executor [`Limits`]. `undefined` or `null` gives the
/// defaults. Errors name the field and its range (`limits.maxFrames must be 1 to ...`).
pub fn limits_from_js(value: JsValue) -> Result<Limits, String> {
    if value.is_undefined() || value.is_null() {
        return Ok(Limits::default());
    }
    let Value::Object(fields) = from_js(value, "limits")? else {
        return Err("limits must be an object {maxFrames?, maxOutputValues?}".into());
    };
    let defaults = Limits::default();
    let field = |name: &str, default: usize| match fields.get(name) {
        None | Some(Value::Null) => Ok(default as u64),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("limits.{name} must be a whole number > 0, got {v}")),
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["maxFrames", "maxOutputValues"].contains(&k.as_str()))
    {
        return Err(format!(
            "limits.{unknown} is not a limit (maxFrames, maxOutputValues)"
        ));
    }
    Limits::new(
        field("maxFrames", defaults.max_frames)?,
        field("maxOutputValues", defaults.max_output_values)?,
    )
    .map_err(|e| {
        let name = if e.field == "max_frames" {
            "maxFrames"
        } else {
            "maxOutputValues"
        };
        format!("limits.{name} must be 1 to {}, got {}", e.max, e.got)
    })
}

/// Object keys kept as JS strings by [`to_js`]: at most this many, each at most
/// [`KEY_CACHE_MAX_BYTES`] long, so node ids of ever new manifests cannot grow it without bound.
const KEY_CACHE_SIZE: usize = 512;
/// The longest object key (bytes) [`to_js`] keeps.
const KEY_CACHE_MAX_BYTES: usize = 32;

thread_local! {
    /// Object keys already made into JS strings (see [`to_js`]).
    static KEYS: RefCell<HashMap<String, JsValue>> = RefCell::new(HashMap::new());
}

/// A JSON value as a plain JS value: objects as `Object` (never `Map`), numbers as JS
/// numbers (an integer beyond 2^53 rounds, as `JSON.parse` rounds it).
///
/// An answer's keys (`status`, `outputs_by_node`, `graph_info`, `items_in`, ...) are the
/// same on every call: they are made into JS strings once and kept (keys of up to 32
/// bytes, 512 of them at most). Decoding each from UTF-8 anew, as serde-wasm-bindgen does for
/// map keys, took about 15 µs of a one-node run's round trip (Chromium profile, 6,000
/// runs of PassThrough).
pub fn to_js(value: &Value) -> JsValue {
    KEYS.with(|keys| convert(value, &mut keys.borrow_mut()))
}

fn convert(value: &Value, keys: &mut HashMap<String, JsValue>) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        // Always a number without serde_json's arbitrary_precision feature.
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items
            .iter()
            .map(|item| convert(item, keys))
            .collect::<Array>()
            .into(),
        Value::Object(fields) => {
            let object = Object::new();
            for (name, field) in fields {
                let field = convert(field, keys);
                // Setting a property of a fresh plain object cannot throw.
                let _ = Reflect::set(&object, &js_key(name, keys), &field);
            }
            object.into()
        }
    }
}

/// `name` as a JS string for an object key, made once and kept as [`to_js`] keeps keys.
pub fn key(name: &str) -> JsValue {
    KEYS.with(|keys| js_key(name, &mut keys.borrow_mut()))
}

/// `name` as a JS string, from [`KEYS`] when it is there (and kept there if it fits).
fn js_key(name: &str, keys: &mut HashMap<String, JsValue>) -> JsValue {
    if let Some(key) = keys.get(name) {
        return key.clone();
    }
    let key = JsValue::from_str(name);
    if name.len() <= KEY_CACHE_MAX_BYTES && keys.len() < KEY_CACHE_SIZE {
        keys.insert(name.to_owned(), key.clone());
    }
    key
}

/// Builds a `serde_json::Value`, refusing non-finite numbers and bytes.
struct StrictJson;

impl<'de> Visitor<'de> for StrictJson {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON data (objects, arrays, strings, finite numbers, booleans, null)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a finite number")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(Seed)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map
                .next_value_seed(MapValueSeed)
                .map_err(|e| de::Error::custom(format!("at key {key:?}: {e}")))?;
            if let Some(value) = value {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

/// Nested values go through the same strict visitor.
struct Seed;

impl<'de> de::DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictJson)
    }
}

/// An object's value: `None` when it is `undefined` (the key is left out, as
/// `JSON.stringify` does). serde sees `undefined` and `null` alike, so the raw JS value
/// is taken first (serde-wasm-bindgen's `preserve`).
struct MapValueSeed;

impl<'de> de::DeserializeSeed<'de> for MapValueSeed {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Value>, D::Error> {
        let raw: JsValue = serde_wasm_bindgen::preserve::deserialize(deserializer)?;
        if raw.is_undefined() {
            return Ok(None);
        }
        serde_wasm_bindgen::Deserializer::from(raw)
            .deserialize_any(StrictJson)
            .map(Some)
            .map_err(|e| de::Error::custom(e.to_string()))
    }
}
