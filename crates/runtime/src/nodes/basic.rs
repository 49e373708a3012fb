//! Data and math nodes: `PassThrough`, `Echo`, `MultiplyNode`, `AddNode`,
//! `CalculatorNode`.

use serde_json::{json, Number, Value};

use crate::data::RuntimeData;
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::{field, Shape};
use crate::wire;

/// What the arithmetic nodes make: a number, or an array of numbers.
const NUMBERS: Shape = Shape::OneOf(&[Shape::Number, Shape::Array(&Shape::Number)]);

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![
        NodeFactory {
            node_type: "PassThrough",
            aliases: &["PassThroughNode"],
            summary: "any -> the same item",
            params: const { &[] },
            output: Shape::Any,
            create: |_| Ok(Box::new(PassThrough)),
        },
        NodeFactory {
            node_type: "Echo",
            aliases: &["EchoNode"],
            summary: "any -> {input, counter, node: \"Echo\"}",
            params: const { &[] },
            output: const { Shape::Object(&[field("input", Shape::Any), field("counter", Shape::Number), field("node", Shape::Literal("Echo"))]) },
            create: |_| Ok(Box::new(Echo { counter: 0 })),
        },
        NodeFactory {
            node_type: "MultiplyNode",
            aliases: &[],
            summary: "number or array of numbers -> multiplied by factor (default 2)",
            params: const {
                &[ParamSpec::optional("factor", ParamKind::Number)
                    .default(ParamDefault::Number(2.0))
                    .doc("Multiplier.")]
            },
            output: NUMBERS,
            create: |p| {
                let factor = p.f64("factor");
                Ok(Box::new(Arithmetic {
                    apply: Box::new(move |x| x * factor),
                }))
            },
        },
        NodeFactory {
            node_type: "AddNode",
            aliases: &[],
            summary: "number or array of numbers -> plus addend (default 0)",
            params: const {
                &[ParamSpec::optional("addend", ParamKind::Number)
                    .default(ParamDefault::Number(0.0))
                    .doc("Added to every number.")]
            },
            output: NUMBERS,
            create: |p| {
                let addend = p.f64("addend");
                Ok(Box::new(Arithmetic {
                    apply: Box::new(move |x| x + addend),
                }))
            },
        },
        NodeFactory {
            node_type: "CalculatorNode",
            aliases: &[],
            summary: "number (or numeric text) -> number (operation with operand), or {operation, args: [a, b]} -> {operation, args, result} (`operands` in place of `args`, the original gRPC server's form, is echoed the same way); anything else passes through, as in the original runtime; divide by zero is an error",
            params: const {
                &[
                    ParamSpec::optional(
                        "operation",
                        ParamKind::OneOf(&["add", "subtract", "multiply", "divide"]),
                    )
                        .default(ParamDefault::Text("add"))
                        .doc("`add`, `subtract`, `multiply` or `divide` (for number items; an `{operation, args}` item names its own)."),
                    ParamSpec::optional("operand", ParamKind::Number)
                        .default(ParamDefault::Number(0.0))
                        .doc("Right-hand side for number items; 0 with `divide` is rejected."),
                ]
            },
            output: const { Shape::OneOf(&[Shape::Number, Shape::Object(&[field("operation", Shape::Text), field("args", Shape::Array(&Shape::Number)), field("result", Shape::Number)]), Shape::Object(&[field("operation", Shape::Text), field("operands", Shape::Array(&Shape::Number)), field("result", Shape::Number)])]) },
            create: calculator,
        },
    ]
}

/// Forwards every item unchanged.
pub struct PassThrough;

impl Node for PassThrough {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        out.push(input);
        Ok(())
    }
}

/// Wraps each item as `{input: <wire form>, counter: n, node: "Echo"}`, `n` counting
/// from 1 within the run.
pub struct Echo {
    counter: u64,
}

impl Node for Echo {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        self.counter += 1;
        out.push(RuntimeData::Json(json!({
            "input": wire::encode(&input),
            "counter": self.counter,
            "node": "Echo",
        })));
        Ok(())
    }
}

/// Applies a function to numbers and arrays of numbers; anything else passes through.
pub struct Arithmetic {
    apply: Box<dyn Fn(f64) -> f64>,
}

impl Node for Arithmetic {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let result = match &input {
            RuntimeData::Json(Value::Number(n)) => n.as_f64().map(|x| number((self.apply)(x))),
            RuntimeData::Json(Value::Array(items)) if items.iter().all(Value::is_number) => {
                Some(Value::Array(
                    items
                        .iter()
                        .map(|v| number((self.apply)(v.as_f64().unwrap_or(0.0))))
                        .collect(),
                ))
            }
            _ => None,
        };
        out.push(result.map(RuntimeData::Json).unwrap_or(input));
        Ok(())
    }
}

/// A JSON number; whole results come out as integers (10, not 10.0), as in native
/// RemoteMedia. NaN and infinities (not representable in JSON) become null.
pub fn number(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::Number(Number::from(x as i64))
    } else {
        Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

fn calculator(p: Params<'_>) -> Result<Box<dyn Node>, ParamError> {
    let operation = p.text("operation").to_ascii_lowercase();
    let operand = p.f64("operand");
    if operation == "divide" && operand == 0.0 {
        return Err(ParamError::new("operand", "divide by zero: operand is 0"));
    }
    Ok(Box::new(Calculator { operation, operand }))
}

/// `x (op) operand` on number items.
pub struct Calculator {
    operation: String,
    operand: f64,
}

impl Calculator {
    fn apply(operation: &str, x: f64, y: f64) -> Result<f64, NodeFailure> {
        Ok(match operation {
            "add" => x + y,
            "subtract" => x - y,
            "multiply" => x * y,
            "divide" if y == 0.0 => return Err("divide by zero".into()),
            "divide" => x / y,
            other => {
                return Err(NodeFailure::new(format!(
                    "unknown operation {other:?} (add, subtract, multiply or divide)"
                )))
            }
        })
    }
}

impl Node for Calculator {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        // The original runtime's rule: what is not a number passes through unchanged
        // (numeric text is read as a number).
        let value = match &input {
            RuntimeData::Json(value) => value.clone(),
            RuntimeData::Text(text) => match text.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Value::from(x),
                _ => {
                    out.push(input);
                    return Ok(());
                }
            },
            _ => {
                out.push(input);
                return Ok(());
            }
        };
        // The item names the operation and both operands: `args` in the Python SDK's
        // form, `operands` in the original gRPC server's (its `nodes/calculator.rs`). The
        // answer echoes the key it was given.
        let key = ["args", "operands"]
            .into_iter()
            .find(|k| value.as_object().is_some_and(|o| o.contains_key(*k)));
        if let (Some(key), Some(object)) = (key, value.as_object()) {
            let operation = match object.get("operation") {
                Some(Value::String(op)) => op.to_ascii_lowercase(),
                None => self.operation.clone(),
                Some(other) => {
                    return Err(NodeFailure::new(format!(
                        "operation must be a string, got {other}"
                    )))
                }
            };
            let args = object.get(key).and_then(Value::as_array);
            let (a, b) = match args.map(|a| a.as_slice()) {
                Some([a, b]) => match (a.as_f64(), b.as_f64()) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Err(format!("{key} must be two numbers").into()),
                },
                _ => return Err(format!("an {{operation, {key}}} item needs {key}: [a, b]").into()),
            };
            let result = Self::apply(&operation, a, b)?;
            let mut answer = serde_json::Map::new();
            answer.insert("operation".into(), Value::from(operation));
            answer.insert(key.into(), json!([number(a), number(b)]));
            answer.insert("result".into(), number(result));
            out.push(RuntimeData::Json(Value::Object(answer)));
            return Ok(());
        }
        let Some(x) = value.as_f64() else {
            out.push(input);
            return Ok(());
        };
        let result = Self::apply(&self.operation, x, self.operand)?;
        out.push(RuntimeData::Json(number(result)));
        Ok(())
    }
}
