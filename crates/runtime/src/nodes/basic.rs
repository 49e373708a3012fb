//! Data and math nodes: `PassThrough`, `Echo`, `MultiplyNode`, `AddNode`,
//! `CalculatorNode`.

use serde_json::{json, Number, Value};

use crate::data::RuntimeData;
use crate::node::{Node, NodeFailure};
use crate::params::{ParamError, ParamKind, ParamSpec, Params};
use crate::registry::NodeFactory;
use crate::wire;

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![
        NodeFactory {
            node_type: "PassThrough",
            aliases: &["PassThroughNode"],
            summary: "any -> the same item",
            params: const { &[] },
            create: |_| Ok(Box::new(PassThrough)),
        },
        NodeFactory {
            node_type: "Echo",
            aliases: &["EchoNode"],
            summary: "any -> {input, counter, node: \"Echo\"}",
            params: const { &[] },
            create: |_| Ok(Box::new(Echo { counter: 0 })),
        },
        NodeFactory {
            node_type: "MultiplyNode",
            aliases: &[],
            summary: "number or array of numbers -> multiplied by factor (default 2)",
            params: const { &[ParamSpec::optional("factor", ParamKind::Number)] },
            create: |p| {
                let factor = p.f64("factor", 2.0);
                Ok(Box::new(Arithmetic {
                    apply: Box::new(move |x| x * factor),
                }))
            },
        },
        NodeFactory {
            node_type: "AddNode",
            aliases: &[],
            summary: "number or array of numbers -> plus addend (default 0)",
            params: const { &[ParamSpec::optional("addend", ParamKind::Number)] },
            create: |p| {
                let addend = p.f64("addend", 0.0);
                Ok(Box::new(Arithmetic {
                    apply: Box::new(move |x| x + addend),
                }))
            },
        },
        NodeFactory {
            node_type: "CalculatorNode",
            aliases: &[],
            summary: "number -> number (operation with operand); divide by zero is an error",
            params: const {
                &[
                    ParamSpec::required(
                        "operation",
                        ParamKind::OneOf(&["add", "subtract", "multiply", "divide"]),
                    ),
                    ParamSpec::optional("operand", ParamKind::Number),
                ]
            },
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
    let operation = p.text("operation", "add").to_ascii_lowercase();
    let operand = p.f64("operand", 0.0);
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

impl Node for Calculator {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let x = match &input {
            RuntimeData::Json(v) => v.as_f64(),
            _ => None,
        }
        .ok_or_else(|| {
            NodeFailure::new(format!(
                "CalculatorNode takes a number, got {}",
                describe(&input)
            ))
        })?;
        let y = self.operand;
        let result = match self.operation.as_str() {
            "add" => x + y,
            "subtract" => x - y,
            "multiply" => x * y,
            _ => {
                if y == 0.0 {
                    return Err("divide by zero".into());
                }
                x / y
            }
        };
        out.push(RuntimeData::Json(number(result)));
        Ok(())
    }
}

fn describe(item: &RuntimeData) -> String {
    match item {
        RuntimeData::Json(v) => format!("json {}", wire::json_kind(v)),
        other => other.kind().to_string(),
    }
}
