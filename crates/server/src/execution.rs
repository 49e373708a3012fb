//! `PipelineExecutionService`: `ExecutePipeline` (one batch run) and `GetVersion`, as in
//! the original SDK's `proto/execution.proto`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use remotemedia_runtime::registry::python_builtin_names;
use remotemedia_runtime::{NodeRegistry, RunResult, RuntimeData};
use tonic::{Request, Response, Status};

use crate::convert::{buffer_to_data, manifest_to_json, node_metrics, outputs_map};
use crate::engine::{execute, ExecuteError};
use crate::errors::{input_error, run_error};
use crate::proto::pipeline_execution_service_server::PipelineExecutionService;
use crate::proto::{
    self, execute_response::Outcome, ErrorResponse, ErrorType, ExecuteRequest, ExecuteResponse,
    ExecutionResult, ExecutionStatus, NodeResult, NodeStatus, VersionInfo, VersionRequest,
    VersionResponse,
};
use crate::state::State;

/// The protocol version this server speaks (the original's `v1` messages).
pub const PROTOCOL_VERSION: &str = "v1";

/// The transports one server offers, as `GetVersion` lists them.
pub const PROTOCOLS: [&str; 3] = ["grpc", "grpc-web", "websocket"];

/// The service; cheap to clone.
#[derive(Clone)]
pub struct ExecutionService {
    state: Arc<State>,
}

impl ExecutionService {
    /// The service over a server's shared state.
    pub fn new(state: Arc<State>) -> Self {
        ExecutionService { state }
    }
}

/// The request's inputs as runtime items, in the order of their keys, each key a node of
/// the manifest (the original keys `data_inputs` by node id). The runtime feeds every
/// item to the pipeline's sources.
fn inputs(request: &ExecuteRequest) -> Result<Vec<RuntimeData>, String> {
    let manifest = request.manifest.as_ref().expect("checked by the caller");
    let mut keys: Vec<&String> = request.data_inputs.keys().collect();
    keys.sort();
    let mut items = Vec::with_capacity(keys.len());
    for key in keys {
        if !manifest.nodes.iter().any(|n| &n.id == key) {
            return Err(format!(
                "data_inputs[\"{key}\"] names no node of the manifest"
            ));
        }
        let item = buffer_to_data(&request.data_inputs[key])
            .map_err(|e| format!("data_inputs[\"{key}\"]: {e}"))?;
        let limit = request.resource_limits.map_or(0, |l| l.max_audio_samples);
        if let (RuntimeData::Audio(audio), true) = (&item, limit > 0) {
            if audio.samples.len() as u64 > limit {
                return Err(format!(
                    "data_inputs[\"{key}\"] has {} audio samples, over resource_limits.max_audio_samples ({limit})",
                    audio.samples.len()
                ));
            }
        }
        items.push(item);
    }
    Ok(items)
}

fn result(run: &RunResult) -> ExecutionResult {
    let node_metrics = node_metrics(run.node_metrics.iter().cloned());
    ExecutionResult {
        data_outputs: outputs_map(&run.outputs),
        metrics: Some(proto::ExecutionMetrics {
            wall_time_ms: run.total_ms,
            node_metrics,
            ..Default::default()
        }),
        node_results: run
            .node_metrics
            .iter()
            .map(|(id, _)| NodeResult {
                node_id: id.clone(),
                status: NodeStatus::Success as i32,
                ..Default::default()
            })
            .collect(),
        status: ExecutionStatus::Success as i32,
    }
}

#[tonic::async_trait]
impl PipelineExecutionService for ExecutionService {
    async fn execute_pipeline(
        &self,
        request: Request<ExecuteRequest>,
    ) -> Result<Response<ExecuteResponse>, Status> {
        let request = request.into_inner();
        let state = &self.state;
        let Some(manifest) = &request.manifest else {
            state.metrics.error("input", "execute");
            return Err(Status::invalid_argument(
                "ExecuteRequest.manifest is required",
            ));
        };
        state.metrics.executions_total.inc();
        let started = Instant::now();
        let prepared = manifest_to_json(manifest).and_then(|m| Ok((m, inputs(&request)?)));
        let (manifest, items) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => {
                state.metrics.error("input", "execute");
                return Ok(Response::new(ExecuteResponse {
                    outcome: Some(Outcome::Error(input_error(message))),
                }));
            }
        };
        let mut timeout = state.config.run_timeout;
        if let Some(ms) = request
            .resource_limits
            .map(|l| l.max_timeout_ms)
            .filter(|&ms| ms > 0)
        {
            timeout = timeout.min(Duration::from_millis(ms));
        }
        let outcome = match execute(state.config.limits, manifest, items, timeout).await {
            Ok(run) => Outcome::Result(result(&run)),
            Err(ExecuteError::Run(error)) => {
                state.metrics.error(error.kind(), "execute");
                Outcome::Error(run_error(&error))
            }
            Err(ExecuteError::Timeout(after)) => {
                state.metrics.error("timeout", "execute");
                let ms = after.as_millis() as u64;
                let message = format!("the run took longer than {ms} ms and was cancelled");
                let context = serde_json::json!({
                    "kind": "timeout",
                    "name": remotemedia_runtime::error_kinds::class_of("timeout"),
                    "message": message,
                    "timeout_ms": ms,
                });
                Outcome::Error(ErrorResponse {
                    error_type: ErrorType::ResourceLimit as i32,
                    message,
                    context: context.to_string(),
                    ..Default::default()
                })
            }
        };
        state
            .metrics
            .execution_latency
            .observe(started.elapsed().as_secs_f64());
        Ok(Response::new(ExecuteResponse {
            outcome: Some(outcome),
        }))
    }

    async fn get_version(
        &self,
        request: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        let client = request.into_inner().client_version;
        let mut node_types: Vec<String> = NodeRegistry::builtin()
            .names()
            .into_iter()
            .map(String::from)
            .collect();
        node_types.extend(python_builtin_names());
        node_types.sort();
        node_types.dedup();
        // The messages are the original's v1: a client of another major version may not
        // speak them.
        let major = client
            .trim_start_matches('v')
            .split('.')
            .next()
            .unwrap_or("");
        let compatible = client.is_empty() || major == "1" || major == "0";
        Ok(Response::new(VersionResponse {
            version_info: Some(VersionInfo {
                protocol_version: PROTOCOL_VERSION.into(),
                runtime_version: env!("CARGO_PKG_VERSION").into(),
                supported_node_types: node_types,
                supported_protocols: PROTOCOLS.iter().map(|p| p.to_string()).collect(),
                build_timestamp: String::new(),
            }),
            compatible,
            compatibility_message: if compatible {
                String::new()
            } else {
                format!("this server speaks protocol {PROTOCOL_VERSION}; client version {client} may not")
            },
        }))
    }
}
