//! Errors on the wire: the runtime's [`RunError`] and the server's own (bad input, a chunk
//! out of sequence, an idle session) as the proto's `ErrorResponse`.
//!
//! `error_type` is the original's `ErrorType`; `context` carries this project's error
//! JSON (`{"kind", "name", "message", ...}`, `docs/errors.json`), so a client gets the
//! same fields as from the CLI or the SDK. In a stream, the original's `StreamErrorType`
//! (not part of `StreamResponse`'s oneof) is in that JSON as `stream_error`, with the
//! `failing_sequence` when a chunk caused it.

use remotemedia_runtime::error_kinds::class_of;
use remotemedia_runtime::RunError;
use serde_json::{json, Value};

use crate::proto::{ErrorResponse, ErrorType, StreamErrorType};

/// The runtime's error as an `ErrorResponse`: a manifest error is VALIDATION, a node's
/// NODE_EXECUTION (with `failing_node_id` and the Python traceback in `stack_trace`),
/// anything else INTERNAL.
pub fn run_error(error: &RunError) -> ErrorResponse {
    let json = error.to_json()["error"].clone();
    let (error_type, node, trace) = match error {
        RunError::Manifest(_) => (ErrorType::Validation, String::new(), None),
        RunError::Node {
            node_id, traceback, ..
        } => (ErrorType::NodeExecution, node_id.clone(), traceback.clone()),
        RunError::Remote { node_id, .. } => (ErrorType::NodeExecution, node_id.clone(), None),
        RunError::Cancelled | RunError::SessionClosed(_) => {
            (ErrorType::Internal, String::new(), None)
        }
    };
    ErrorResponse {
        error_type: error_type as i32,
        message: error.to_string(),
        failing_node_id: node,
        context: json.to_string(),
        stack_trace: trace.unwrap_or_default(),
    }
}

/// An error of the request itself (`kind` `input`: a buffer that cannot be read, a
/// manifest that is not one), as VALIDATION.
pub fn input_error(message: impl Into<String>) -> ErrorResponse {
    let message = message.into();
    ErrorResponse {
        error_type: ErrorType::Validation as i32,
        context: error_json("input", &message, Value::Null).to_string(),
        message,
        ..Default::default()
    }
}

/// A stream's error: `base` with the stream error type (`STREAM_ERROR_...`) and the
/// failing sequence added to its `context` JSON.
pub fn stream_error(
    mut base: ErrorResponse,
    kind: StreamErrorType,
    sequence: Option<u64>,
) -> ErrorResponse {
    let mut context: Value = serde_json::from_str(&base.context).unwrap_or_else(|_| json!({}));
    context["stream_error"] = kind.as_str_name().into();
    if let Some(sequence) = sequence {
        context["failing_sequence"] = sequence.into();
    }
    base.context = context.to_string();
    base
}

/// A stream error that is not the runtime's (INIT_REQUIRED, INVALID_SEQUENCE, TIMEOUT):
/// `kind` `input`, or `closed` for a session that ended.
pub fn protocol_error(
    kind: StreamErrorType,
    message: impl Into<String>,
    sequence: Option<u64>,
) -> ErrorResponse {
    let message = message.into();
    let error_kind = if kind == StreamErrorType::StreamErrorTimeout {
        "closed"
    } else {
        "input"
    };
    let base = ErrorResponse {
        error_type: ErrorType::Validation as i32,
        context: error_json(error_kind, &message, Value::Null).to_string(),
        message,
        ..Default::default()
    };
    stream_error(base, kind, sequence)
}

/// This project's error JSON for `kind` (its class from the runtime's table).
fn error_json(kind: &str, message: &str, extra: Value) -> Value {
    let mut json = json!({ "kind": kind, "name": class_of(kind), "message": message });
    if let Value::Object(fields) = extra {
        json.as_object_mut().expect("an object").extend(fields);
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_errors_carry_the_project_json() {
        let e = RunError::Node {
            node_id: "calc".into(),
            node_type: "CalculatorNode".into(),
            language: "rust".into(),
            message: "division by zero".into(),
            traceback: None,
        };
        let r = run_error(&e);
        assert_eq!(r.error_type, ErrorType::NodeExecution as i32);
        assert_eq!(r.failing_node_id, "calc");
        let context: Value = serde_json::from_str(&r.context).unwrap();
        assert_eq!(context["kind"], "node");
        assert_eq!(context["name"], "NodeError");
        let s = stream_error(r, StreamErrorType::StreamErrorExecution, Some(7));
        let context: Value = serde_json::from_str(&s.context).unwrap();
        assert_eq!(context["stream_error"], "STREAM_ERROR_EXECUTION");
        assert_eq!(context["failing_sequence"], 7);
    }
}
