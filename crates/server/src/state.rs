//! What every service of one server shares: its settings, metrics, the count of open
//! sessions and the shutdown signal.

use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// Shared by the gRPC services, the WebSocket transport and `/health` and `/metrics`.
pub struct State {
    /// The server's settings.
    pub config: ServerConfig,
    /// Its metrics.
    pub metrics: Metrics,
    /// One permit per session that may open ([`ServerConfig::max_sessions`]).
    pub sessions: Arc<Semaphore>,
    /// Becomes `true` when the server starts shutting down: sessions close with
    /// `StreamClosed` and new ones are refused.
    pub shutdown: watch::Receiver<bool>,
}

impl State {
    /// A server's state, with `shutdown` as its signal.
    pub fn new(config: ServerConfig, shutdown: watch::Receiver<bool>) -> Arc<State> {
        Arc::new(State {
            sessions: Arc::new(Semaphore::new(config.max_sessions)),
            metrics: Metrics::default(),
            config,
            shutdown,
        })
    }

    /// Whether shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}
