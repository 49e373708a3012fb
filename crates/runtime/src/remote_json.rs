//! The session protocol of `remotemedia serve` in JSON (`docs/remote.md`, "WebSocket"):
//! the same messages as the original SDK's `StreamPipeline` (init, chunk, control; ready,
//! result, error, metrics, closed), one per WebSocket text message, with items in this
//! project's wire JSON (`docs/wire-format.md`). Browsers' executor workers speak it (no
//! protobuf code in the wasm); the server maps it to and from the protobuf messages. This
//! module is the one definition of the JSON form, for both sides.
//!
//! Client to server:
//! - `{"init": {"manifest": {...}}}`
//! - `{"chunk": {"sequence": 0, "item": <wire item>, "final": false}}` (`final`: the
//!   session's last chunk, whose item and the flush form one step)
//! - `{"control": "close"}` or `{"control": "cancel"}`
//!
//! Server to client:
//! - `{"ready": {"session_id": "..."}}`
//! - `{"result": {"sequence": 0, "outputs": [{"node_id": "vad", "item": <wire item>}], "processing_time_ms": 1.2}}`
//! - `{"error": {"message": "...", "error": <error JSON: kind, name, message, ...>}}`
//! - `{"metrics": {"chunks_processed": 10, ...}}`
//! - `{"closed": {"session_id": "...", "reason": "..."}}`

use serde_json::{json, Value};

use crate::data::RuntimeData;
use crate::wire;

/// A message from a client.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// Opens the session with a manifest (JSON).
    Init {
        /// The pipeline to run.
        manifest: Value,
    },
    /// One item for the pipeline's sources.
    Chunk {
        /// Counts up from 0.
        sequence: u64,
        /// The item.
        item: RuntimeData,
        /// The session's last chunk.
        last: bool,
    },
    /// Flush and end.
    Close,
    /// End now.
    Cancel,
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The session is open.
    Ready {
        /// The server's id for it.
        session_id: String,
    },
    /// A chunk's outputs.
    Result {
        /// The chunk's sequence (the flush's outputs: the next sequence).
        sequence: u64,
        /// `(sink node id, item)`, in order.
        outputs: Vec<(String, RuntimeData)>,
    },
    /// An error; the session may go on (a refused chunk) or end (`closed` follows).
    Error {
        /// The error's message.
        message: String,
        /// This project's error JSON (`{"kind", "name", "message", ...}`).
        error: Value,
    },
    /// Counters of the session (the proto's `StreamMetrics`, its field names).
    Metrics(Value),
    /// The session ended.
    Closed {
        /// Why: "closed by client", "server shutting down", "idle timeout", an error...
        reason: String,
    },
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, String> {
    value.get(name).ok_or_else(|| format!("missing \"{name}\""))
}

impl ClientMessage {
    /// The message's JSON text.
    pub fn to_text(&self) -> String {
        match self {
            ClientMessage::Init { manifest } => json!({ "init": { "manifest": manifest } }),
            ClientMessage::Chunk {
                sequence,
                item,
                last,
            } => json!({ "chunk": { "sequence": sequence, "item": wire::encode(item), "final": last } }),
            ClientMessage::Close => json!({ "control": "close" }),
            ClientMessage::Cancel => json!({ "control": "cancel" }),
        }
        .to_string()
    }

    /// Reads a message. Errors: not JSON, not one of the messages, a bad item.
    pub fn parse(text: &str) -> Result<ClientMessage, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if let Some(init) = value.get("init") {
            return Ok(ClientMessage::Init {
                manifest: field(init, "manifest")?.clone(),
            });
        }
        if let Some(chunk) = value.get("chunk") {
            let sequence = field(chunk, "sequence")?
                .as_u64()
                .ok_or("chunk.sequence must be a whole number >= 0")?;
            let item =
                wire::decode(field(chunk, "item")?).map_err(|e| format!("chunk.item: {e}"))?;
            let last = chunk.get("final").and_then(Value::as_bool).unwrap_or(false);
            return Ok(ClientMessage::Chunk {
                sequence,
                item,
                last,
            });
        }
        match value.get("control").and_then(Value::as_str) {
            Some("close") => Ok(ClientMessage::Close),
            Some("cancel") => Ok(ClientMessage::Cancel),
            Some(other) => Err(format!("control \"{other}\" is not close or cancel")),
            None => Err("expected one of init, chunk, control".into()),
        }
    }
}

impl ServerMessage {
    /// The message's JSON text.
    pub fn to_text(&self) -> String {
        match self {
            ServerMessage::Ready { session_id } => json!({ "ready": { "session_id": session_id } }),
            ServerMessage::Result { sequence, outputs } => {
                let outputs: Vec<Value> = outputs
                    .iter()
                    .map(|(node, item)| json!({ "node_id": node, "item": wire::encode(item) }))
                    .collect();
                json!({ "result": { "sequence": sequence, "outputs": outputs } })
            }
            ServerMessage::Error { message, error } => {
                json!({ "error": { "message": message, "error": error } })
            }
            ServerMessage::Metrics(metrics) => json!({ "metrics": metrics }),
            ServerMessage::Closed { reason } => json!({ "closed": { "reason": reason } }),
        }
        .to_string()
    }

    /// Reads a message. Errors: not JSON, not one of the messages, a bad item.
    pub fn parse(text: &str) -> Result<ServerMessage, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if let Some(ready) = value.get("ready") {
            let id = field(ready, "session_id")?.as_str().unwrap_or_default();
            return Ok(ServerMessage::Ready {
                session_id: id.to_owned(),
            });
        }
        if let Some(result) = value.get("result") {
            let sequence = field(result, "sequence")?.as_u64().unwrap_or(0);
            let list = field(result, "outputs")?
                .as_array()
                .ok_or("result.outputs must be an array")?;
            let mut outputs = Vec::with_capacity(list.len());
            for (i, o) in list.iter().enumerate() {
                let node = field(o, "node_id")?.as_str().unwrap_or_default().to_owned();
                let item = wire::decode(field(o, "item")?)
                    .map_err(|e| format!("result.outputs[{i}].item: {e}"))?;
                outputs.push((node, item));
            }
            return Ok(ServerMessage::Result { sequence, outputs });
        }
        if let Some(error) = value.get("error") {
            return Ok(ServerMessage::Error {
                message: field(error, "message")?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                error: error.get("error").cloned().unwrap_or(Value::Null),
            });
        }
        if let Some(metrics) = value.get("metrics") {
            return Ok(ServerMessage::Metrics(metrics.clone()));
        }
        if let Some(closed) = value.get("closed") {
            return Ok(ServerMessage::Closed {
                reason: closed
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Err("expected one of ready, result, error, metrics, closed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::AudioBuffer;

    #[test]
    fn messages_round_trip() {
        let audio = RuntimeData::Audio(AudioBuffer::new(vec![0.5, -0.25], 16000, 1));
        for m in [
            ClientMessage::Init {
                manifest: json!({"version": "v1"}),
            },
            ClientMessage::Chunk {
                sequence: 7,
                item: audio.clone(),
                last: true,
            },
            ClientMessage::Close,
            ClientMessage::Cancel,
        ] {
            assert_eq!(ClientMessage::parse(&m.to_text()).unwrap(), m);
        }
        for m in [
            ServerMessage::Ready {
                session_id: "s".into(),
            },
            ServerMessage::Result {
                sequence: 3,
                outputs: vec![
                    ("vad".into(), audio),
                    ("n".into(), RuntimeData::Json(json!(1))),
                ],
            },
            ServerMessage::Error {
                message: "m".into(),
                error: json!({"kind": "node"}),
            },
            ServerMessage::Closed { reason: "r".into() },
        ] {
            assert_eq!(ServerMessage::parse(&m.to_text()).unwrap(), m);
        }
    }

    #[test]
    fn bad_messages_are_errors() {
        for text in [
            "",
            "[]",
            "{\"chunk\": {}}",
            "{\"chunk\": {\"sequence\": -1, \"item\": 1}}",
            "{\"control\": \"stop\"}",
        ] {
            assert!(ClientMessage::parse(text).is_err(), "{text}");
        }
    }
}
