//! One streaming session's protocol, whatever carries it (gRPC `StreamPipeline` or a
//! WebSocket): the original's `StreamRequest`s in, `StreamResponse`s out.
//!
//! - The first message must be `StreamInit` (else STREAM_ERROR_INIT_REQUIRED); the
//!   answer is `StreamReady`, or the manifest's error and `StreamClosed`.
//! - Each `DataChunk` (or the deprecated `AudioChunk`) goes to the pipeline's sources and
//!   is answered by a `ChunkResult` with the same `sequence`. Sequences count up from 0:
//!   a chunk below the next expected one is refused (STREAM_ERROR_INVALID_SEQUENCE, the
//!   session goes on); a gap is accepted and counted in `chunks_dropped`.
//! - `StreamControl` CLOSE flushes the pipeline (its outputs in a last `ChunkResult`),
//!   then `StreamMetrics` and `StreamClosed`; CANCEL stops at once.
//! - No message for [`ServerConfig::session_idle`](crate::ServerConfig) closes the session
//!   (STREAM_ERROR_TIMEOUT); shutdown closes it as CLOSE does, with that reason.
//! - `StreamMetrics` also comes every [`METRICS_EVERY`] chunks.
//!
//! Backpressure: the pipeline's thread takes at most `max_queued_chunks` chunks ahead,
//! and results wait in a bounded channel; when either is full this driver stops reading
//! its client, and the transport's flow control (HTTP/2, TCP) slows the client down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use remotemedia_runtime::{RunError, RuntimeData};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_stream::{Stream, StreamExt};

use crate::convert::{buffer_to_data, manifest_to_json, node_metrics, outputs_map, FINAL_CHUNK};
use crate::engine::{open_session, Event, Job};
use crate::errors::{input_error, protocol_error, run_error, stream_error};
use crate::proto::{
    self, stream_control::Command, stream_request::Request, stream_response::Response, ChunkResult,
    ErrorResponse, StreamClosed, StreamErrorType, StreamInit, StreamMetrics, StreamReady,
    StreamRequest, StreamResponse,
};
use crate::state::State;

/// A `StreamMetrics` message is sent after this many chunks, and at the end.
pub const METRICS_EVERY: u64 = 10;

/// What a transport hands the driver: a message, or why none could be read.
pub type Inbound = Result<StreamRequest, String>;

/// A session id: unique in this process, and unlikely to repeat across replicas.
fn session_id() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{:x}-{:x}-{n}", std::process::id(), nanos)
}

fn respond(response: Response) -> StreamResponse {
    StreamResponse {
        response: Some(response),
    }
}

/// Ids of the manifest's source nodes (no incoming connection): where chunks may go.
fn sources(manifest: &proto::PipelineManifest) -> Vec<String> {
    manifest
        .nodes
        .iter()
        .filter(|n| !manifest.connections.iter().any(|c| c.to == n.id))
        .map(|n| n.id.clone())
        .collect()
}

/// A chunk's items, checked: `buffer` or `named_buffers` (in key order), not both, sent
/// to a source node (or to no node in particular).
fn chunk_items(
    node_id: &str,
    buffer: Option<&proto::DataBuffer>,
    named: &HashMap<String, proto::DataBuffer>,
    sources: &[String],
) -> Result<Vec<RuntimeData>, String> {
    if !node_id.is_empty() && !sources.iter().any(|s| s == node_id) {
        return Err(format!(
            "node_id \"{node_id}\" is not a source of the pipeline (sources: {})",
            sources.join(", ")
        ));
    }
    match (buffer, named.is_empty()) {
        (Some(_), false) => Err("a chunk has buffer or named_buffers, not both".into()),
        (None, true) => Err("a chunk needs buffer or named_buffers".into()),
        (Some(buffer), true) => Ok(vec![
            buffer_to_data(buffer).map_err(|e| format!("buffer: {e}"))?
        ]),
        (None, false) => {
            let mut keys: Vec<&String> = named.keys().collect();
            keys.sort();
            keys.into_iter()
                .map(|k| {
                    buffer_to_data(&named[k]).map_err(|e| format!("named_buffers[\"{k}\"]: {e}"))
                })
                .collect()
        }
    }
}

/// Counters one session shares between its reader and its writer.
#[derive(Default)]
struct Stats {
    chunks: AtomicU64,
    dropped: AtomicU64,
    items: AtomicU64,
    latency_us: AtomicU64,
    next_sequence: AtomicU64,
}

impl Stats {
    fn message(&self, session_id: &str) -> StreamMetrics {
        let chunks = self.chunks.load(Ordering::Relaxed);
        StreamMetrics {
            session_id: session_id.into(),
            chunks_processed: chunks,
            average_latency_ms: self.latency_us.load(Ordering::Relaxed) as f64
                / 1e3
                / chunks.max(1) as f64,
            total_items: self.items.load(Ordering::Relaxed),
            chunks_dropped: self.dropped.load(Ordering::Relaxed),
            ..Default::default()
        }
    }
}

/// Runs one session: reads `inbound` until the session ends, writes to `out`. Holds
/// `permit` (the server's session count) until then. `transport` names it in metrics.
pub async fn drive<S>(
    state: Arc<State>,
    mut inbound: S,
    out: mpsc::Sender<StreamResponse>,
    permit: OwnedSemaphorePermit,
    transport: &'static str,
) where
    S: Stream<Item = Inbound> + Unpin + Send,
{
    let idle = state.config.session_idle;
    let fail = |error: ErrorResponse, reason: &str| {
        let out = out.clone();
        let reason = reason.to_owned();
        async move {
            let _ = out.send(respond(Response::Error(error))).await;
            let closed = StreamClosed {
                reason,
                ..Default::default()
            };
            let _ = out.send(respond(Response::Closed(closed))).await;
        }
    };
    // The first message: StreamInit.
    let init = match tokio::time::timeout(idle, inbound.next()).await {
        Ok(Some(Ok(StreamRequest {
            request: Some(Request::Init(init)),
        }))) => init,
        Ok(Some(Ok(_))) => {
            state.metrics.error("input", transport);
            let e = protocol_error(
                StreamErrorType::StreamErrorInitRequired,
                "the first message of a stream must be StreamInit",
                None,
            );
            return fail(e, "init required").await;
        }
        Ok(Some(Err(e))) => {
            state.metrics.error("input", transport);
            return fail(input_error(e), "unreadable message").await;
        }
        Ok(None) => return,
        Err(_) => {
            state.metrics.error("closed", transport);
            let e = protocol_error(
                StreamErrorType::StreamErrorTimeout,
                format!("no StreamInit within {} s", idle.as_secs_f64()),
                None,
            );
            return fail(e, "idle timeout").await;
        }
    };
    let Some((manifest, sources)) = open_parts(&init) else {
        state.metrics.error("input", transport);
        let e = match init.manifest.as_ref().map(manifest_to_json) {
            None => input_error("StreamInit.manifest is required"),
            Some(Err(e)) => input_error(e),
            Some(Ok(_)) => input_error(
                "StreamInit.data_inputs is not supported: send them as the first DataChunk",
            ),
        };
        return fail(e, "invalid init").await;
    };
    let (events_tx, mut events) = mpsc::channel(state.config.max_queued_chunks.max(1));
    let handle = match open_session(
        state.config.limits,
        manifest,
        state.config.max_queued_chunks,
        events_tx,
        permit,
    ) {
        Ok(handle) => handle,
        Err(e) => {
            state.metrics.error("error", transport);
            return fail(
                input_error(format!("cannot start the session: {e}")),
                "error",
            )
            .await;
        }
    };
    match events.recv().await {
        Some(Event::Ready) => {}
        Some(Event::Failed { error, .. }) => {
            state.metrics.error(error.kind(), transport);
            return fail(run_error(&error), "invalid manifest").await;
        }
        _ => return fail(input_error("the session ended at start"), "error").await,
    }
    let id = session_id();
    state.metrics.sessions_total.inc();
    state.metrics.sessions_active.inc();
    let ready = StreamReady {
        session_id: id.clone(),
        recommended_chunk_size: if init.expected_chunk_size > 0 {
            init.expected_chunk_size
        } else {
            1600
        },
        max_buffer_latency_ms: 0,
    };
    if out.send(respond(Response::Ready(ready))).await.is_err() {
        state.metrics.sessions_active.dec();
        return;
    }
    let stats = Arc::new(Stats::default());
    let reason = Arc::new(Mutex::new(String::from("closed by client")));
    let writer = tokio::spawn(forward(
        state.clone(),
        id.clone(),
        events,
        out.clone(),
        stats.clone(),
        reason.clone(),
        transport,
    ));
    let set_reason = |why: &str| *reason.lock().expect("not poisoned") = why.to_owned();
    let mut shutdown = state.shutdown.clone();
    loop {
        let message = tokio::select! {
            m = tokio::time::timeout(idle, inbound.next()) => m,
            () = until_down(&mut shutdown) => {
                set_reason("server shutting down");
                let _ = handle.jobs.send(Job::Close).await;
                break;
            }
        };
        let request = match message {
            Ok(Some(Ok(StreamRequest { request: Some(r) }))) => r,
            Ok(Some(Ok(StreamRequest { request: None }))) => {
                let e = protocol_error(
                    StreamErrorType::StreamErrorUnspecified,
                    "an empty StreamRequest",
                    None,
                );
                let _ = out.send(respond(Response::Error(e))).await;
                continue;
            }
            Ok(Some(Err(e))) => {
                state.metrics.error("input", transport);
                let _ = out.send(respond(Response::Error(input_error(e)))).await;
                set_reason("unreadable message");
                break;
            }
            Ok(None) => {
                // The client went away (or half-closed without CLOSE): end the session.
                set_reason("client disconnected");
                state.metrics.error("client_disconnect", transport);
                handle.cancel.cancel();
                break;
            }
            Err(_) => {
                state.metrics.error("closed", transport);
                let e = protocol_error(
                    StreamErrorType::StreamErrorTimeout,
                    format!(
                        "no message for {} s: the session is closed",
                        idle.as_secs_f64()
                    ),
                    None,
                );
                let _ = out.send(respond(Response::Error(e))).await;
                set_reason("idle timeout");
                handle.cancel.cancel();
                break;
            }
        };
        let (node_id, buffer, named, sequence) = match &request {
            Request::DataChunk(c) => (
                c.node_id.as_str(),
                c.buffer.as_ref(),
                std::borrow::Cow::Borrowed(&c.named_buffers),
                c.sequence,
            ),
            #[allow(deprecated)]
            Request::AudioChunk(c) => {
                let buffer = c.buffer.clone().map(|a| proto::DataBuffer {
                    data_type: Some(proto::data_buffer::DataType::Audio(a)),
                    metadata: HashMap::new(),
                });
                let items = std::borrow::Cow::Owned(
                    buffer
                        .map(|b| HashMap::from([(String::new(), b)]))
                        .unwrap_or_default(),
                );
                (c.node_id.as_str(), None, items, c.sequence)
            }
            Request::Control(control) => {
                if control.command() == Command::Cancel {
                    set_reason("cancelled by client");
                    handle.cancel.cancel();
                } else {
                    let _ = handle.jobs.send(Job::Close).await;
                }
                break;
            }
            Request::Init(_) => {
                let e = protocol_error(
                    StreamErrorType::StreamErrorUnspecified,
                    "StreamInit was already sent",
                    None,
                );
                let _ = out.send(respond(Response::Error(e))).await;
                continue;
            }
        };
        let received = Instant::now();
        let next = stats.next_sequence.load(Ordering::Relaxed);
        if sequence < next {
            state.metrics.error("input", transport);
            state.metrics.chunks_dropped_total.inc();
            let e = protocol_error(
                StreamErrorType::StreamErrorInvalidSequence,
                format!("chunk {sequence} is out of order: the next expected is {next}"),
                Some(sequence),
            );
            let _ = out.send(respond(Response::Error(e))).await;
            continue;
        }
        if sequence > next {
            stats.dropped.fetch_add(sequence - next, Ordering::Relaxed);
            state.metrics.chunks_dropped_total.inc_by(sequence - next);
        }
        stats
            .next_sequence
            .store(sequence.saturating_add(1), Ordering::Relaxed);
        let last = buffer
            .into_iter()
            .chain(named.values())
            .any(|b| b.metadata.get(FINAL_CHUNK).is_some_and(|v| v == "true"));
        match chunk_items(node_id, buffer, &named, &sources) {
            Ok(items) => {
                let job = Job::Push {
                    sequence,
                    items,
                    received,
                    last,
                };
                if handle.jobs.send(job).await.is_err() || last {
                    break; // failed (the writer says why), or the last chunk
                }
            }
            Err(message) => {
                state.metrics.error("input", transport);
                let e = stream_error(
                    input_error(message),
                    StreamErrorType::StreamErrorUnspecified,
                    Some(sequence),
                );
                let _ = out.send(respond(Response::Error(e))).await;
            }
        }
    }
    drop(handle.jobs);
    let _ = writer.await;
    state.metrics.sessions_active.dec();
}

/// Completes when shutdown begins.
async fn until_down(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&down| down).await.map(|_| ());
}

/// The manifest JSON and the source ids of an init, if it can start a session.
fn open_parts(init: &StreamInit) -> Option<(serde_json::Value, Vec<String>)> {
    let manifest = init.manifest.as_ref()?;
    if !init.data_inputs.is_empty() {
        return None;
    }
    Some((manifest_to_json(manifest).ok()?, sources(manifest)))
}

/// The session's events as responses, until it ends; then `StreamMetrics` and
/// `StreamClosed`.
async fn forward(
    state: Arc<State>,
    id: String,
    mut events: mpsc::Receiver<Event>,
    out: mpsc::Sender<StreamResponse>,
    stats: Arc<Stats>,
    reason: Arc<Mutex<String>>,
    transport: &'static str,
) {
    let started = Instant::now();
    let mut final_metrics = proto::ExecutionMetrics::default();
    while let Some(event) = events.recv().await {
        let response = match event {
            Event::Ready => continue,
            Event::Outputs {
                sequence,
                outputs,
                latency_ms,
                total_items,
            } => {
                let n = stats.chunks.fetch_add(1, Ordering::Relaxed) + 1;
                stats.items.store(total_items, Ordering::Relaxed);
                stats
                    .latency_us
                    .fetch_add((latency_ms * 1e3) as u64, Ordering::Relaxed);
                state.metrics.chunks_total.inc();
                state.metrics.chunk_latency.observe(latency_ms / 1e3);
                let result = ChunkResult {
                    sequence,
                    data_outputs: outputs_map(&outputs),
                    processing_time_ms: latency_ms,
                    total_items_processed: total_items,
                };
                if out.send(respond(Response::Result(result))).await.is_err() {
                    return;
                }
                if n.is_multiple_of(METRICS_EVERY) {
                    Response::Metrics(stats.message(&id))
                } else {
                    continue;
                }
            }
            Event::Failed { error, sequence } => {
                if matches!(error, RunError::Cancelled) {
                    continue; // CANCEL, an idle session or a vanished client: said below
                }
                state.metrics.error(error.kind(), transport);
                *reason.lock().expect("not poisoned") = format!("error: {error}");
                let kind = StreamErrorType::StreamErrorExecution;
                Response::Error(stream_error(run_error(&error), kind, sequence))
            }
            Event::Closed { outputs, metrics } => {
                if !outputs.is_empty() {
                    let result = ChunkResult {
                        sequence: stats.next_sequence.load(Ordering::Relaxed),
                        data_outputs: outputs_map(&outputs),
                        processing_time_ms: 0.0,
                        total_items_processed: stats.items.load(Ordering::Relaxed)
                            + outputs.len() as u64,
                    };
                    let _ = out.send(respond(Response::Result(result))).await;
                }
                final_metrics.node_metrics = node_metrics(metrics);
                continue;
            }
        };
        if out.send(respond(response)).await.is_err() {
            return;
        }
    }
    final_metrics.wall_time_ms = started.elapsed().as_secs_f64() * 1e3;
    let _ = out
        .send(respond(Response::Metrics(stats.message(&id))))
        .await;
    let closed = StreamClosed {
        session_id: id,
        final_metrics: Some(final_metrics),
        reason: reason.lock().expect("not poisoned").clone(),
    };
    let _ = out.send(respond(Response::Closed(closed))).await;
}
