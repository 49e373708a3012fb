//! `StreamingPipelineService.StreamPipeline` over gRPC: the bidirectional stream of the
//! original SDK's `proto/streaming.proto`, driven by [`crate::session`].

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::proto::streaming_pipeline_service_server::StreamingPipelineService;
use crate::proto::{StreamRequest, StreamResponse};
use crate::session::drive;
use crate::state::State;

/// The service; cheap to clone.
#[derive(Clone)]
pub struct StreamingService {
    state: Arc<State>,
}

impl StreamingService {
    /// The service over a server's shared state.
    pub fn new(state: Arc<State>) -> Self {
        StreamingService { state }
    }
}

/// A permit for one more session, or the status that refuses it: UNAVAILABLE while
/// shutting down, RESOURCE_EXHAUSTED when `max_sessions` are open.
pub fn admit(state: &State, transport: &str) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
    if state.shutting_down() {
        return Err(Status::unavailable("the server is shutting down"));
    }
    state.sessions.clone().try_acquire_owned().map_err(|_| {
        state.metrics.error("sessions_full", transport);
        Status::resource_exhausted(format!(
            "{} sessions are open, the server's max_sessions",
            state.config.max_sessions
        ))
    })
}

#[tonic::async_trait]
impl StreamingPipelineService for StreamingService {
    type StreamPipelineStream =
        Pin<Box<dyn Stream<Item = Result<StreamResponse, Status>> + Send + 'static>>;

    async fn stream_pipeline(
        &self,
        request: Request<Streaming<StreamRequest>>,
    ) -> Result<Response<Self::StreamPipelineStream>, Status> {
        let permit = admit(&self.state, "stream")?;
        let inbound = request
            .into_inner()
            .map(|m| m.map_err(|status| format!("unreadable StreamRequest: {}", status.message())));
        let (out, responses) = mpsc::channel(self.state.config.max_queued_chunks.max(1));
        tokio::spawn(drive(self.state.clone(), inbound, out, permit, "stream"));
        Ok(Response::new(Box::pin(
            ReceiverStream::new(responses).map(Ok),
        )))
    }
}
