//! The worker boundary: JS values in and out of Rust through serde-wasm-bindgen.
//!
//! Manifests, items in wire form and results cross as plain JS objects, never as JSON
//! text. [`from_js`] reads a value as JSON data and refuses what JSON cannot carry
//! (NaN, infinities, functions, typed arrays) with a message, instead of turning it
//! into `null` the way `JSON.stringify` would; [`to_js`] writes objects as plain JS
//! objects (not `Map`s).

use std::fmt;

use remotemedia_runtime::Limits;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
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

/// A JSON value as a plain JS value (objects as `Object`, never `Map`).
pub fn to_js(value: &Value) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        // Only a bug could get here (every serde_json::Value has a JS form).
        .unwrap_or_else(|e| JsValue::from_str(&format!("unserializable answer: {e}")))
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
