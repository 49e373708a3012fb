//! The WebSocket transport, for browsers (gRPC-Web has no client or bidirectional
//! streaming): `GET /ws` upgrades to a WebSocket whose binary messages are the same
//! protobuf messages as `StreamPipeline`, one per message: the client sends
//! `StreamRequest`s, the server answers `StreamResponse`s ([`crate::session`] drives both).
//! A text message, a message that is not a `StreamRequest` or one over the size limit is
//! answered with an error and ends the session; the connection closes after `StreamClosed`.
//! Browsers cannot set headers on a WebSocket, so a token goes in the `token` query
//! parameter (or the `authorization` header, for other clients).

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message as _;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::authorized;
use crate::proto::{stream_response, StreamRequest};
use crate::session::{drive, Inbound};
use crate::state::State;
use crate::streaming::admit;

/// The query of `GET /ws`.
#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// `GET /ws`: checks the token and the session count, then upgrades.
pub async fn upgrade(
    Shared(state): Shared<Arc<State>>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
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

async fn run(state: Arc<State>, socket: WebSocket, permit: tokio::sync::OwnedSemaphorePermit) {
    use futures_util::{SinkExt, StreamExt};
    let (mut sink, mut source) = socket.split();
    let (inbound_tx, inbound_rx) = mpsc::channel::<Inbound>(state.config.max_queued_chunks.max(1));
    let (out, mut responses) = mpsc::channel(state.config.max_queued_chunks.max(1));
    // Reader: WebSocket messages to StreamRequests; stops on close or the first bad one.
    let reader = tokio::spawn(async move {
        while let Some(message) = source.next().await {
            let item = match message {
                Ok(Message::Binary(bytes)) => StreamRequest::decode(bytes.as_ref())
                    .map_err(|e| format!("a binary message that is not a StreamRequest: {e}")),
                Ok(Message::Text(_)) => {
                    Err("text messages are not part of the protocol: send StreamRequest protobufs as binary messages".into())
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
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
    while let Some(response) = responses.recv().await {
        let last = matches!(
            response.response,
            Some(stream_response::Response::Closed(_))
        );
        if sink
            .send(Message::Binary(response.encode_to_vec().into()))
            .await
            .is_err()
        {
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
