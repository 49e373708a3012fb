//! The runtime off the async threads. The runtime's executor is single-threaded (`Rc`,
//! and Python nodes hold interpreter state), so a batch run takes a blocking thread of
//! tokio's pool, and each streaming session owns an OS thread for its life, fed through a
//! bounded channel: when the session falls behind, the channel fills and the transport
//! stops reading from its client (backpressure) instead of queueing.

use std::time::{Duration, Instant};

use remotemedia_runtime::executor::{NodeMetrics, Output};
use remotemedia_runtime::{
    native_python, CancelFlag, Executor, Limits, RunError, RunResult, RuntimeData,
};
use serde_json::Value;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

/// The runtime a server runs pipelines with: Python nodes in embedded CPython, and nodes
/// on other servers through [`crate::client`] (a server may offload to another).
fn executor(limits: Limits) -> Executor {
    Executor::default()
        .with_external(native_python::provider())
        .with_remote(crate::client::provider(None))
        .with_limits(limits)
}

/// Why a batch run did not finish.
#[derive(Debug)]
pub enum ExecuteError {
    /// The runtime's error.
    Run(RunError),
    /// It took longer than the timeout (it was then cancelled).
    Timeout(Duration),
}

/// Runs `manifest` (JSON, validated here) over `items` on a blocking thread, as
/// `remotemedia run` does. After `timeout` the run is cancelled (the runtime checks
/// between nodes) and [`ExecuteError::Timeout`] returned.
pub async fn execute(
    limits: Limits,
    manifest: Value,
    items: Vec<RuntimeData>,
    timeout: Duration,
) -> Result<RunResult, ExecuteError> {
    let cancel = CancelFlag::new();
    let flag = cancel.clone();
    let job = tokio::task::spawn_blocking(move || {
        let executor = executor(limits);
        let manifest = executor.parse(&manifest)?;
        pollster::block_on(executor.run(&manifest, items, &flag))
    });
    match tokio::time::timeout(timeout, job).await {
        Ok(Ok(result)) => result.map_err(ExecuteError::Run),
        Ok(Err(join)) => Err(ExecuteError::Run(RunError::Node {
            node_id: String::new(),
            node_type: String::new(),
            language: "rust".into(),
            message: format!("the run's thread failed: {join}"),
            traceback: None,
        })),
        Err(_) => {
            cancel.cancel();
            Err(ExecuteError::Timeout(timeout))
        }
    }
}

/// What a transport asks of a session, in order.
#[derive(Debug)]
pub enum Job {
    /// Feed these items (one chunk) to the sources.
    Push {
        /// The chunk's sequence number.
        sequence: u64,
        /// Its items, pushed one after another.
        items: Vec<RuntimeData>,
        /// When the transport received it (latency is measured from here).
        received: Instant,
        /// The session's last chunk: its last item and the flush form one step
        /// (`Session::push_final`), then the session closes as on [`Job::Close`].
        last: bool,
    },
    /// Flush every node and end.
    Close,
}

/// What a session tells its transport.
#[derive(Debug)]
pub enum Event {
    /// The manifest is valid and every node was created.
    Ready,
    /// A chunk's outputs.
    Outputs {
        /// The chunk's sequence number.
        sequence: u64,
        /// What the sinks produced, in order.
        outputs: Vec<Output>,
        /// From receipt to outputs, in ms.
        latency_ms: f64,
        /// Items the sinks produced so far in the session.
        total_items: u64,
    },
    /// The session failed (and ended): at open, or on the chunk `sequence`.
    Failed {
        /// The runtime's error.
        error: RunError,
        /// The chunk that caused it, if one did.
        sequence: Option<u64>,
    },
    /// The session closed: the flush's outputs and each node's metrics.
    Closed {
        /// What the flush produced.
        outputs: Vec<Output>,
        /// `(node id, metrics)` in manifest order.
        metrics: Vec<(String, NodeMetrics)>,
    },
}

/// A running session: send it [`Job`]s; [`Event`]s come on the channel given to
/// [`open_session`]. Dropping it (a client that vanished) ends the session's thread.
pub struct SessionHandle {
    /// Jobs, bounded: `send` waits while the session is `max_queued` chunks behind.
    pub jobs: mpsc::Sender<Job>,
    /// Set to stop the chunk being processed (CANCEL); the session then ends.
    pub cancel: CancelFlag,
}

/// Opens a session of `manifest` on a thread of its own, which holds `permit` (the
/// server's count of sessions) until it ends. Events go to `events`; if that channel is
/// full the thread waits, so a client that does not read its results stops the session
/// rather than growing memory.
pub fn open_session(
    limits: Limits,
    manifest: Value,
    max_queued: usize,
    events: mpsc::Sender<Event>,
    permit: OwnedSemaphorePermit,
) -> std::io::Result<SessionHandle> {
    let (jobs, mut inbox) = mpsc::channel::<Job>(max_queued.max(1));
    let cancel = CancelFlag::new();
    let flag = cancel.clone();
    std::thread::Builder::new()
        .name("remotemedia-session".into())
        .spawn(move || {
            let _permit = permit;
            let executor = executor(limits);
            let opened = executor
                .parse(&manifest)
                .and_then(|m| pollster::block_on(executor.open(&m)));
            let mut session = match opened {
                Ok(session) => session,
                Err(error) => {
                    let _ = events.blocking_send(Event::Failed {
                        error,
                        sequence: None,
                    });
                    return;
                }
            };
            if events.blocking_send(Event::Ready).is_err() {
                return;
            }
            let ids = session.graph().ids.clone();
            let mut total_items = 0u64;
            while let Some(job) = inbox.blocking_recv() {
                match job {
                    Job::Push {
                        sequence,
                        items,
                        received,
                        last,
                    } => {
                        let mut outputs = Vec::new();
                        let count = items.len();
                        // Each item in turn; the last chunk's last item (or, with
                        // none, a close) ends the session in the same step.
                        let steps = items
                            .into_iter()
                            .map(Some)
                            .chain((last && count == 0).then_some(None));
                        for (i, item) in steps.enumerate() {
                            let step = match item {
                                None => pollster::block_on(session.close(&flag)),
                                Some(item) if last && i + 1 == count => {
                                    pollster::block_on(session.push_final(item, &flag))
                                }
                                Some(item) => pollster::block_on(session.push(item, &flag)),
                            };
                            match step {
                                Ok(out) => outputs.extend(out),
                                Err(error) => {
                                    let _ = events.blocking_send(Event::Failed {
                                        error,
                                        sequence: Some(sequence),
                                    });
                                    return;
                                }
                            }
                        }
                        total_items += outputs.len() as u64;
                        let event = Event::Outputs {
                            sequence,
                            outputs,
                            latency_ms: received.elapsed().as_secs_f64() * 1e3,
                            total_items,
                        };
                        if events.blocking_send(event).is_err() {
                            return;
                        }
                        if last {
                            let _ = events.blocking_send(Event::Closed {
                                outputs: Vec::new(),
                                metrics: ids
                                    .iter()
                                    .cloned()
                                    .zip(session.metrics().iter().cloned())
                                    .collect(),
                            });
                            return;
                        }
                    }
                    Job::Close => {
                        let event = match pollster::block_on(session.close(&flag)) {
                            Ok(outputs) => Event::Closed {
                                outputs,
                                metrics: ids
                                    .iter()
                                    .cloned()
                                    .zip(session.metrics().iter().cloned())
                                    .collect(),
                            },
                            Err(error) => Event::Failed {
                                error,
                                sequence: None,
                            },
                        };
                        let _ = events.blocking_send(event);
                        return;
                    }
                }
            }
        })?;
    Ok(SessionHandle { jobs, cancel })
}
