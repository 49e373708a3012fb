//! One server: gRPC (both services), gRPC-Web, the WebSocket transport, `GET /health`
//! and `GET /metrics` on one port, with CORS, limits and graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State as Shared;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::interceptor;
use crate::config::ServerConfig;
use crate::execution::ExecutionService;
use crate::proto::pipeline_execution_service_server::PipelineExecutionServiceServer;
use crate::proto::streaming_pipeline_service_server::StreamingPipelineServiceServer;
use crate::state::State;
use crate::streaming::StreamingService;

/// `GET /health`: 200 `{"status": "ok", "sessions_active", "version"}`, or 503 with
/// `"shutting_down"` once shutdown has begun (so a proxy stops sending new sessions).
async fn health(Shared(state): Shared<Arc<State>>) -> impl IntoResponse {
    let open = state.config.max_sessions - state.sessions.available_permits();
    let (code, status) = if state.shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
    } else {
        (StatusCode::OK, "ok")
    };
    let body = serde_json::json!({
        "status": status,
        "sessions_active": open,
        "max_sessions": state.config.max_sessions,
        "version": env!("CARGO_PKG_VERSION"),
    });
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// `GET /metrics`: the Prometheus text format.
async fn metrics(Shared(state): Shared<Arc<State>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// CORS for pages on the configured origins; none when the list is empty.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let headers = [
        "content-type",
        "authorization",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
    ];
    let exposed = ["grpc-status", "grpc-message", "grpc-status-details-bin"];
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(headers.map(HeaderName::from_static))
            .expose_headers(exposed.map(HeaderName::from_static)),
    )
}

/// Every route of a server over `state`.
pub fn router(state: Arc<State>) -> Router {
    let limit = state.config.max_message_bytes;
    let check = interceptor(state.clone());
    let execution = PipelineExecutionServiceServer::new(ExecutionService::new(state.clone()))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    let streaming = StreamingPipelineServiceServer::new(StreamingService::new(state.clone()))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    let grpc = tonic::service::Routes::new(tonic::service::interceptor::InterceptedService::new(
        execution,
        check.clone(),
    ))
    .add_service(tonic::service::interceptor::InterceptedService::new(
        streaming, check,
    ))
    .into_axum_router()
    .layer(tonic_web::GrpcWebLayer::new());
    let http = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/ws", get(crate::websocket::upgrade))
        .with_state(state.clone());
    let app = http.merge(grpc);
    match cors(&state.config.cors_origins) {
        Some(layer) => app.layer(layer),
        None => app,
    }
}

/// Serves `config` on `listener` until `stop` completes; then refuses new sessions, tells
/// open ones to close (each gets `StreamClosed` with reason "server shutting down"), and
/// waits up to [`ServerConfig::shutdown_grace`] for them.
///
/// Errors: the listener's I/O errors.
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = config.shutdown_grace;
    let (down_tx, down_rx) = watch::channel(false);
    let state = State::new(config, down_rx);
    let (done_tx, done_rx) = watch::channel(false);
    let signal = async move {
        stop.await;
        let _ = down_tx.send(true);
        let _ = done_tx.send(true);
    };
    // No Nagle delay: a session's chunks and results are small messages that must not wait
    // for the peer's delayed ACK (40 ms per round trip on Linux otherwise).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(signal);
    let mut done = done_rx;
    tokio::select! {
        result = server => result,
        _ = async move {
            let _ = done.wait_for(|&d| d).await;
            tokio::time::sleep(grace).await;
        } => Ok(()),
    }
}
