//! What a server accepts: its address, limits, token and CORS origins
//! (`remotemedia serve --help` lists them with their defaults).

use std::net::SocketAddr;
use std::time::Duration;

use remotemedia_runtime::Limits;

/// A server's settings. [`ServerConfig::default`] is a server on 127.0.0.1:50051 with the
/// limits below, no token and CORS off.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen (gRPC, gRPC-Web, WebSocket, `/health` and `/metrics` share it);
    /// port 0 picks a free one.
    pub addr: SocketAddr,
    /// Largest message a client may send, and the server may send, in bytes (default
    /// 16 MiB): gRPC frames and WebSocket messages alike.
    pub max_message_bytes: usize,
    /// Streaming sessions open at once (default 64); one more is refused with
    /// RESOURCE_EXHAUSTED.
    pub max_sessions: usize,
    /// Chunks a session holds before the server stops reading from its client (default
    /// 16): backpressure, so a fast client never grows a queue.
    pub max_queued_chunks: usize,
    /// A session with no message from its client for this long is closed with a
    /// STREAM_ERROR_TIMEOUT error (default 60 s).
    pub session_idle: Duration,
    /// Longest `ExecutePipeline` (default 300 s; a request's `resource_limits.max_timeout_ms`
    /// may ask for less).
    pub run_timeout: Duration,
    /// If set, every request needs `authorization: Bearer <token>` (gRPC metadata, an HTTP
    /// header, or for WebSockets the `token` query parameter); `/health` does not.
    pub token: Option<String>,
    /// Origins allowed by CORS (gRPC-Web and WebSocket from pages); empty means CORS is
    /// off and browsers on other origins are refused. `*` allows any.
    pub cors_origins: Vec<String>,
    /// The runtime's limits on what input may ask for.
    pub limits: Limits,
    /// On shutdown, how long open sessions get to finish after being told to close.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_message_bytes: 16 << 20,
            max_sessions: 64,
            max_queued_chunks: 16,
            session_idle: Duration::from_secs(60),
            run_timeout: Duration::from_secs(300),
            token: None,
            cors_origins: Vec::new(),
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
