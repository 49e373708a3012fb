//! What a node's output items look like, declared once per node type (a factory's
//! `output`, a Python built-in's `output`). The node catalog prints the shapes (JSON,
//! Markdown) and, as TypeScript types, the SDK's `js-sdk/src/nodes.ts`
//! (`remotemedia nodes --typescript`); [`Shape::check`] holds real outputs to them in
//! the tests, so the declared types cannot drift from what the nodes give.

use serde_json::{json, Value};

use crate::data::RuntimeData;

/// The shape of one item, or of a JSON value inside one.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Decoded audio; the fields are the annotations the node puts in its `metadata`.
    Audio(&'static [Field]),
    /// A tensor (the numpy envelope).
    Tensor,
    /// Bytes.
    Binary,
    /// Text: a JSON string.
    Text,
    /// A JSON number.
    Number,
    /// A JSON boolean.
    Bool,
    /// JSON null.
    Null,
    /// One fixed string.
    Literal(&'static str),
    /// A JSON object with these fields (and no others).
    Object(&'static [Field]),
    /// A JSON array of one shape.
    Array(&'static Shape),
    /// A JSON object whose keys are data (any names), each value of one shape.
    Map(&'static Shape),
    /// Any one of these.
    OneOf(&'static [Shape]),
    /// Anything: what came in, passed on (`unknown` in TypeScript).
    Any,
}

/// A named field of an object (or of audio metadata).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Its key.
    pub name: &'static str,
    /// Its value's shape.
    pub shape: Shape,
    /// Whether it may be absent.
    pub optional: bool,
}

/// A field that is always present.
pub const fn field(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        optional: false,
    }
}

/// A field that may be absent.
pub const fn optional(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        optional: true,
    }
}

impl Shape {
    /// Whether `item` has this shape; the error names the first JSON path that differs
    /// (`$.metadata.vad.segments[0].start_s: expected a number, got "x"`).
    pub fn check(&self, item: &RuntimeData) -> Result<(), String> {
        match (self, item) {
            (Shape::Any, _) => Ok(()),
            (Shape::OneOf(shapes), _) => {
                let mut errors = Vec::new();
                for shape in *shapes {
                    match shape.check(item) {
                        Ok(()) => return Ok(()),
                        Err(e) => errors.push(e),
                    }
                }
                Err(format!("none of the shapes matched: {}", errors.join("; ")))
            }
            (Shape::Audio(fields), RuntimeData::Audio(audio)) => {
                let metadata: serde_json::Map<String, Value> = audio
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                // Annotations from nodes before it pass through: others may be present.
                check_fields(fields, &metadata, "$.metadata", false)
            }
            (Shape::Tensor, RuntimeData::Tensor(_)) | (Shape::Binary, RuntimeData::Binary(_)) => {
                Ok(())
            }
            (shape, RuntimeData::Text(text)) => {
                shape.check_value(&Value::String(text.clone()), "$")
            }
            (shape, RuntimeData::Json(value)) => shape.check_value(value, "$"),
            (shape, other) => Err(format!(
                "$: expected {}, got {}",
                shape.typescript(),
                other.kind()
            )),
        }
    }

    fn check_value(&self, value: &Value, path: &str) -> Result<(), String> {
        let ok = match (self, value) {
            (Shape::Any, _) => true,
            (Shape::Text, Value::String(_)) => true,
            (Shape::Literal(s), Value::String(v)) => s == v,
            (Shape::Number, Value::Number(_)) | (Shape::Bool, Value::Bool(_)) => true,
            (Shape::Null, Value::Null) => true,
            (Shape::Object(fields), Value::Object(map)) => {
                return check_fields(fields, map, path, true)
            }
            (Shape::Array(item), Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    item.check_value(v, &format!("{path}[{i}]"))?;
                }
                true
            }
            (Shape::Map(item), Value::Object(map)) => {
                for (k, v) in map {
                    item.check_value(v, &format!("{path}.{k}"))?;
                }
                true
            }
            (Shape::OneOf(shapes), _) => shapes.iter().any(|s| s.check_value(value, path).is_ok()),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            let got = value.to_string();
            let got: String = got.chars().take(80).collect();
            Err(format!("{path}: expected {}, got {got}", self.typescript()))
        }
    }

    /// The shape as JSON, for the catalog (`docs/nodes.json`) and the tests in other
    /// languages: `{"kind": "audio", "metadata": [field]}`, `{"kind": "object", "fields":
    /// [{name, shape, optional}]}`, `{"kind": "array", "items": shape}`, `{"kind": "map",
    /// "values": shape}`, `{"kind": "one_of", "shapes": [shape]}`, `{"kind": "literal",
    /// "value": text}`, or `{"kind": k}` for tensor, binary, text, number, bool, null, any.
    pub fn to_json(&self) -> Value {
        let fields = |fields: &[Field]| -> Value {
            fields
                .iter()
                .map(
                    |f| json!({"name": f.name, "shape": f.shape.to_json(), "optional": f.optional}),
                )
                .collect()
        };
        match self {
            Shape::Audio(f) => json!({"kind": "audio", "metadata": fields(f)}),
            Shape::Object(f) => json!({"kind": "object", "fields": fields(f)}),
            Shape::Array(item) => json!({"kind": "array", "items": item.to_json()}),
            Shape::Map(item) => json!({"kind": "map", "values": item.to_json()}),
            Shape::OneOf(shapes) => {
                json!({"kind": "one_of", "shapes": shapes.iter().map(Shape::to_json).collect::<Vec<_>>()})
            }
            Shape::Literal(s) => json!({"kind": "literal", "value": s}),
            Shape::Tensor => json!({"kind": "tensor"}),
            Shape::Binary => json!({"kind": "binary"}),
            Shape::Text => json!({"kind": "text"}),
            Shape::Number => json!({"kind": "number"}),
            Shape::Bool => json!({"kind": "bool"}),
            Shape::Null => json!({"kind": "null"}),
            Shape::Any => json!({"kind": "any"}),
        }
    }

    /// The TypeScript type of this shape, in terms of the SDK's `AudioData` and
    /// `TensorData` (decoded items: audio as `Float32Array`, bytes as `Uint8Array`).
    pub fn typescript(&self) -> String {
        match self {
            Shape::Audio([]) => "AudioData".into(),
            Shape::Audio(fields) => format!("AudioData & {{ metadata: {} }}", object_ts(fields)),
            Shape::Tensor => "TensorData".into(),
            Shape::Binary => "Uint8Array".into(),
            Shape::Text => "string".into(),
            Shape::Number => "number".into(),
            Shape::Bool => "boolean".into(),
            Shape::Null => "null".into(),
            Shape::Literal(s) => format!("{s:?}"),
            Shape::Object(fields) => object_ts(fields),
            Shape::Array(item) => match item {
                Shape::OneOf(_) | Shape::Audio(_) => format!("({})[]", item.typescript()),
                _ => format!("{}[]", item.typescript()),
            },
            Shape::Map(item) => format!("Record<string, {}>", item.typescript()),
            Shape::OneOf(shapes) => shapes
                .iter()
                .map(Shape::typescript)
                .collect::<Vec<_>>()
                .join(" | "),
            Shape::Any => "unknown".into(),
        }
    }
}

fn object_ts(fields: &[Field]) -> String {
    if fields.is_empty() {
        return "Record<string, never>".into();
    }
    let parts: Vec<String> = fields
        .iter()
        .map(|f| {
            let mark = if f.optional { "?" } else { "" };
            format!("{}{mark}: {}", f.name, f.shape.typescript())
        })
        .collect();
    format!("{{ {} }}", parts.join("; "))
}

/// Checks the declared fields; with `strict`, a key not declared is an error too.
fn check_fields(
    fields: &[Field],
    map: &serde_json::Map<String, Value>,
    path: &str,
    strict: bool,
) -> Result<(), String> {
    for f in fields {
        match map.get(f.name) {
            Some(v) => f.shape.check_value(v, &format!("{path}.{}", f.name))?,
            None if f.optional => {}
            None => return Err(format!("{path}.{}: missing", f.name)),
        }
    }
    let declared = |k: &String| fields.iter().any(|f| f.name == k.as_str());
    if let Some(extra) = map.keys().find(|k| strict && !declared(k)) {
        return Err(format!("{path}.{extra}: not declared"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVEL: Shape = Shape::Object(&[
        field("rms_db", Shape::Number),
        optional("note", Shape::Text),
    ]);

    #[test]
    fn checks_fields_and_names_the_path() {
        assert!(LEVEL
            .check(&RuntimeData::Json(json!({"rms_db": -3.0})))
            .is_ok());
        let wrong = LEVEL
            .check(&RuntimeData::Json(json!({"rms_db": "loud"})))
            .unwrap_err();
        assert!(wrong.starts_with("$.rms_db: expected number"), "{wrong}");
        let missing = LEVEL.check(&RuntimeData::Json(json!({}))).unwrap_err();
        assert_eq!(missing, "$.rms_db: missing");
        let extra = LEVEL
            .check(&RuntimeData::Json(json!({"rms_db": 1, "x": 2})))
            .unwrap_err();
        assert_eq!(extra, "$.x: not declared");
        assert!(LEVEL.check(&RuntimeData::Text("x".into())).is_err());
    }

    #[test]
    fn prints_typescript() {
        assert_eq!(LEVEL.typescript(), "{ rms_db: number; note?: string }");
        const LIST: Shape = Shape::Array(&Shape::OneOf(&[Shape::Number, Shape::Null]));
        assert_eq!(LIST.typescript(), "(number | null)[]");
        const VAD: Shape = Shape::Audio(&[optional("vad", Shape::Object(&[]))]);
        assert_eq!(
            VAD.typescript(),
            "AudioData & { metadata: { vad?: Record<string, never> } }"
        );
    }
}
