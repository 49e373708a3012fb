//! The WebSocket transport, for browsers (gRPC-Web has no client or bidirectional
//! streaming): `GET /ws` upgrades to a WebSocket carrying the messages of
//! `StreamPipeline`, one per WebSocket message, in either of two forms, chosen by the
//! client's first message:
//! - binary messages: the protobuf `StreamRequest` / `StreamResponse` (the original's
//!   `proto/`);
//! - text messages: their JSON form with items in this project's wire JSON
//!   ([`remotemedia_runtime::remote_json`]), which the SDK's executor workers speak.
//!
//! [`crate::session`] drives both. A message that cannot be read, or one over the size
//! limit, is answered with an error and ends the session; the connection closes after
//! `StreamClosed`. Browsers cannot set headers on a WebSocket, so a token goes in the
//! `token` query parameter (or the `authorization` header, for other clients). A page's
//! `Origin` must be one of the server's CORS origins: with none configured, pages on other
//! origins are refused (403), as CORS refuses their gRPC-Web calls.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message as _;
use remotemedia_runtime::remote_json::{ClientMessage, ServerMessage};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::authorized;
use crate::convert::{data_to_buffer, json_to_manifest, outputs_from_map, FINAL_CHUNK};
use crate::proto::{self, stream_request, stream_response, StreamRequest, StreamResponse};
use crate::session::{drive, Inbound};
use crate::state::State;
use crate::streaming::admit;

/// The query of `GET /ws`.
#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// Whether a page of `origin` may open a session: it is one of the configured CORS
/// origins (or they include `*`). Requests without an `Origin` (not from a page) may.
fn origin_allowed(state: &State, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    state
        .config
        .cors_origins
        .iter()
        .any(|o| o == "*" || o == origin)
}

/// `GET /ws`: checks the origin, the token and the session count, then upgrades.
pub async fn upgrade(
    Shared(state): Shared<Arc<State>>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&state, &headers) {
        state.metrics.error("origin", "websocket");
        let origin = headers
            .get("origin")
            .and_then(|o| o.to_str().ok())
            .unwrap_or("");
        let message = format!(
            "pages of {origin} may not use this server: start it with --cors-origin {origin}"
        );
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    if !authorized(&state, &headers, query.token.as_deref()) {
        state.metrics.error("unauthenticated", "websocket");
        return (StatusCode::UNAUTHORIZED, "a bearer token is required").into_response();
    }
    let permit = match admit(&state, "websocket") {
        Ok(permit) => permit,
        Err(status) => {
            return (StatusCode::SERVICE_UNAVAILABLE, status.message().to_owned()).into_response()
        }
    };
    let limit = state.config.max_message_bytes;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| run(state, socket, permit))
}

/// A JSON client message as the protobuf request the session driver reads.
fn request_of(message: ClientMessage) -> Result<StreamRequest, String> {
    let request = match message {
        ClientMessage::Init { manifest } => stream_request::Request::Init(proto::StreamInit {
            manifest: Some(json_to_manifest(&manifest)?),
            ..Default::default()
        }),
        ClientMessage::Chunk {
            sequence,
            item,
            last,
        } => {
            let mut buffer = data_to_buffer(&item);
            if last {
                buffer.metadata.insert(FINAL_CHUNK.into(), "true".into());
            }
            stream_request::Request::DataChunk(proto::DataChunk {
                buffer: Some(buffer),
                sequence,
                ..Default::default()
            })
        }
        ClientMessage::Close | ClientMessage::Cancel => {
            let command = if message == ClientMessage::Close {
                proto::stream_control::Command::Close
            } else {
                proto::stream_control::Command::Cancel
            };
            stream_request::Request::Control(proto::StreamControl {
                command: command as i32,
            })
        }
    };
    Ok(StreamRequest {
        request: Some(request),
    })
}

/// A protobuf response in the JSON form.
fn json_of(response: &StreamResponse) -> Option<ServerMessage> {
    Some(match response.response.as_ref()? {
        stream_response::Response::Ready(r) => ServerMessage::Ready {
            session_id: r.session_id.clone(),
        },
        stream_response::Response::Result(r) => match outputs_from_map(&r.data_outputs) {
            Ok(outputs) => ServerMessage::Result {
                sequence: r.sequence,
                outputs,
            },
            Err(e) => ServerMessage::Error {
                message: e.clone(),
                error: json!({ "kind": "error", "name": "RemoteMediaError", "message": e }),
            },
        },
        stream_response::Response::Error(e) => ServerMessage::Error {
            message: e.message.clone(),
            error: serde_json::from_str(&e.context).unwrap_or(Value::Null),
        },
        stream_response::Response::Metrics(m) => ServerMessage::Metrics(json!({
            "session_id": m.session_id,
            "chunks_processed": m.chunks_processed,
            "average_latency_ms": m.average_latency_ms,
            "total_items": m.total_items,
            "chunks_dropped": m.chunks_dropped,
        })),
        stream_response::Response::Closed(c) => ServerMessage::Closed {
            reason: c.reason.clone(),
        },
    })
}

async fn run(state: Arc<State>, socket: WebSocket, permit: tokio::sync::OwnedSemaphorePermit) {
    use futures_util::{SinkExt, StreamExt};
    let (mut sink, mut source) = socket.split();
    let (inbound_tx, inbound_rx) = mpsc::channel::<Inbound>(state.config.max_queued_chunks.max(1));
    let (out, mut responses) = mpsc::channel(state.config.max_queued_chunks.max(1));
    let (mode_tx, mode_rx) = tokio::sync::oneshot::channel::<bool>();
    // Reader: WebSocket messages to StreamRequests; stops on close or the first bad one.
    let reader = tokio::spawn(async move {
        let mut mode_tx = Some(mode_tx);
        while let Some(message) = source.next().await {
            let (item, text) = match message {
                Ok(Message::Binary(bytes)) => (
                    StreamRequest::decode(bytes.as_ref())
                        .map_err(|e| format!("a binary message that is not a StreamRequest: {e}")),
                    false,
                ),
                Ok(Message::Text(text)) => (
                    ClientMessage::parse(text.as_str())
                        .and_then(request_of)
                        .map_err(|e| format!("a text message that is not a session message: {e}")),
                    true,
                ),
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            if let Some(tx) = mode_tx.take() {
                let _ = tx.send(text);
            }
            let stop = item.is_err();
            if inbound_tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    let driver = tokio::spawn(drive(
        state,
        ReceiverStream::new(inbound_rx),
        out,
        permit,
        "websocket",
    ));
    // Answers take the form of the client's first message (binary until it is known).
    let mut mode_rx = Some(mode_rx);
    let mut text = false;
    while let Some(response) = responses.recv().await {
        if let Some(rx) = mode_rx.as_mut() {
            if let Ok(is_text) = rx.try_recv() {
                text = is_text;
                mode_rx = None;
            }
        }
        let last = matches!(
            response.response,
            Some(stream_response::Response::Closed(_))
        );
        let frame = match json_of(&response).filter(|_| text) {
            Some(message) => Message::Text(message.to_text().into()),
            None => Message::Binary(response.encode_to_vec().into()),
        };
        if sink.send(frame).await.is_err() {
            break;
        }
        if last {
            let _ = sink.send(Message::Close(None)).await;
            break;
        }
    }
    reader.abort();
    let _ = driver.await;
}
