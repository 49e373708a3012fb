//! Progress of a run while it runs: each node's item counts so far, and how far each
//! decoder is through its file. Reported to an observer at most once per interval of
//! the executor's clock, and once at the end, so a long run shows progress without a
//! report per item.

use serde_json::{json, Map, Value};

/// How far a node is through its current input (a decoder through an audio file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputProgress {
    /// Size of the input, in bytes (the whole file).
    pub bytes: u64,
    /// Frames decoded so far.
    pub frames_done: u64,
    /// Frames the container says it holds, when it says.
    pub frames_total: Option<u64>,
}

/// Receives progress reports: `{"nodes": {id: {"items_in", "items_out"}}, "inputs":
/// [{"node", "bytes", "frames_done", "frames_total", "fraction"}], "done": bool}`
/// (`fraction` of the frames, 0 to 1, when the total is known; `done` on the last).
pub type Observer = Box<dyn FnMut(&Value)>;

/// An observer and when it was last told.
pub(crate) struct Reporter {
    observer: Observer,
    interval_ms: f64,
    last_ms: Option<f64>,
}

impl Reporter {
    /// Reports to `observer` at most once per `interval_ms` (and always at the end).
    pub(crate) fn new(observer: Observer, interval_ms: f64) -> Reporter {
        Reporter {
            observer,
            interval_ms: interval_ms.max(0.0),
            last_ms: None,
        }
    }

    /// Whether a report is due at `now_ms` (the first is due at once).
    pub(crate) fn due(&self, now_ms: f64) -> bool {
        self.last_ms
            .is_none_or(|last| now_ms - last >= self.interval_ms)
    }

    /// Sends a report: each node's `(id, items_in, items_out)`, and the inputs' progress
    /// by node id.
    pub(crate) fn send(
        &mut self,
        now_ms: f64,
        counts: &[(&str, u64, u64)],
        inputs: &[(&str, InputProgress)],
        done: bool,
    ) {
        self.last_ms = Some(now_ms);
        let nodes: Map<String, Value> = counts
            .iter()
            .map(|&(id, items_in, items_out)| {
                (
                    id.to_string(),
                    json!({"items_in": items_in, "items_out": items_out}),
                )
            })
            .collect();
        let inputs: Vec<Value> = inputs
            .iter()
            .map(|(node, p)| {
                let fraction = p
                    .frames_total
                    .filter(|&t| t > 0)
                    .map(|t| (p.frames_done as f64 / t as f64).min(1.0));
                json!({
                    "node": node,
                    "bytes": p.bytes,
                    "frames_done": p.frames_done,
                    "frames_total": p.frames_total,
                    "fraction": fraction.map(|f| (f * 1000.0).round() / 1000.0),
                })
            })
            .collect();
        (self.observer)(&json!({"nodes": nodes, "inputs": inputs, "done": done}));
    }
}
