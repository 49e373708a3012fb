//! The server's Prometheus metrics (`GET /metrics`, text exposition format), kept with
//! the `prometheus-client` crate: sessions, chunks, runs, their latency and errors.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label of an error count: the error JSON's `kind` and where it happened.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// `kind` of the error JSON (`node`, `manifest`, `input`, `closed`, ...) or the
    /// transport's refusal (`unauthenticated`, `sessions_full`).
    pub kind: String,
    /// `execute`, `stream` or `websocket`.
    pub transport: String,
}

/// Every metric, registered once; shared by the services.
pub struct Metrics {
    registry: Registry,
    /// Sessions open now.
    pub sessions_active: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Sessions opened since start.
    pub sessions_total: Counter<u64, AtomicU64>,
    /// Chunks processed since start.
    pub chunks_total: Counter<u64, AtomicU64>,
    /// Chunks lost: sequence gaps and chunks refused.
    pub chunks_dropped_total: Counter<u64, AtomicU64>,
    /// Seconds from a chunk's receipt to its outputs.
    pub chunk_latency: Histogram,
    /// `ExecutePipeline` calls since start.
    pub executions_total: Counter<u64, AtomicU64>,
    /// Seconds per `ExecutePipeline`.
    pub execution_latency: Histogram,
    /// Errors by kind and transport.
    pub errors: Family<ErrorLabels, Counter<u64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("remotemedia");
        let metrics = Metrics {
            sessions_active: Gauge::default(),
            sessions_total: Counter::default(),
            chunks_total: Counter::default(),
            chunks_dropped_total: Counter::default(),
            // 0.1 ms to ~13 s.
            chunk_latency: Histogram::new(exponential_buckets(0.0001, 2.0, 18)),
            executions_total: Counter::default(),
            execution_latency: Histogram::new(exponential_buckets(0.0001, 2.0, 20)),
            errors: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sessions_active",
            "Streaming sessions open now",
            metrics.sessions_active.clone(),
        );
        registry.register(
            "sessions",
            "Streaming sessions opened",
            metrics.sessions_total.clone(),
        );
        registry.register("chunks", "Chunks processed", metrics.chunks_total.clone());
        registry.register(
            "chunks_dropped",
            "Chunks lost to sequence gaps or refused",
            metrics.chunks_dropped_total.clone(),
        );
        registry.register(
            "chunk_latency_seconds",
            "From a chunk's receipt to its outputs",
            metrics.chunk_latency.clone(),
        );
        registry.register(
            "executions",
            "ExecutePipeline calls",
            metrics.executions_total.clone(),
        );
        registry.register(
            "execution_seconds",
            "ExecutePipeline duration",
            metrics.execution_latency.clone(),
        );
        registry.register(
            "errors",
            "Errors by kind and transport",
            metrics.errors.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// Counts one error of `kind` on `transport`.
    pub fn error(&self, kind: &str, transport: &str) {
        self.errors
            .get_or_create(&ErrorLabels {
                kind: kind.into(),
                transport: transport.into(),
            })
            .inc();
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
