//! The native runtime's transport to servers ([`RemoteNodes`]): each remote node of a run
//! or session holds one `StreamPipeline` session on its server, over gRPC. A server's
//! WebSocket URL (`ws://host:port/ws`) is reached through gRPC on the same port, which
//! `remotemedia serve` also serves.
//!
//! The runtime drives nodes with its own small executor, not tokio, so each remote node
//! is an actor on a tokio runtime of its own (one per process, started on first use) and
//! the node talks to it through channels that work under any executor.

use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use remotemedia_runtime::manifest::NodeSpec;
use remotemedia_runtime::node::{AsyncNode, LocalFuture, NodeFailure};
use remotemedia_runtime::remote::{RemoteNodes, RemoteTarget, Restart};
use remotemedia_runtime::RuntimeData;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::convert::{data_to_buffer, json_to_manifest, outputs_from_map, FINAL_CHUNK};
use crate::proto::streaming_pipeline_service_client::StreamingPipelineServiceClient;
use crate::proto::{
    self, stream_control::Command, stream_request::Request, stream_response::Response,
    StreamRequest, StreamResponse,
};

/// The tokio runtime remote nodes run on, started on first use.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("remotemedia-remote")
            .enable_all()
            .build()
            .expect("a tokio runtime starts")
    })
}

/// The provider for [`Executor::with_remote`](remotemedia_runtime::Executor::with_remote):
/// gRPC to each node's server, with `token` (if any) as the bearer token of servers whose
/// node gives none (`auth_token`).
pub fn provider(token: Option<String>) -> Rc<dyn RemoteNodes> {
    Rc::new(GrpcRemote { token })
}

struct GrpcRemote {
    token: Option<String>,
}

impl RemoteNodes for GrpcRemote {
    fn open<'a>(
        &'a self,
        _spec: &'a NodeSpec,
        mut target: RemoteTarget,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>> {
        if target.token.is_none() {
            target.token = self.token.clone();
        }
        Box::pin(async move {
            let (commands, inbox) = mpsc::channel(1);
            let (ready, opened) = oneshot::channel();
            runtime().spawn(actor(target, inbox, ready));
            opened
                .await
                .map_err(|_| NodeFailure::new("the remote node's task ended"))??;
            Ok(Box::new(RemoteNode { commands }) as Box<dyn AsyncNode>)
        })
    }
}

type Reply = oneshot::Sender<Result<Vec<RuntimeData>, NodeFailure>>;

enum Cmd {
    Process(Vec<RuntimeData>, Reply),
    /// The last items (maybe none) and the flush, then the session ends.
    Finish(Vec<RuntimeData>, Reply),
}

/// The node the executor holds: its calls become commands to the actor.
struct RemoteNode {
    commands: mpsc::Sender<Cmd>,
}

impl RemoteNode {
    async fn call(&self, cmd: impl FnOnce(Reply) -> Cmd) -> Result<Vec<RuntimeData>, NodeFailure> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(cmd(reply))
            .await
            .map_err(|_| NodeFailure::new("the remote node's task ended"))?;
        answer
            .await
            .map_err(|_| NodeFailure::new("the remote node's task ended"))?
    }
}

impl AsyncNode for RemoteNode {
    fn process(
        &mut self,
        inputs: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move { self.call(|r| Cmd::Process(inputs, r)).await })
    }

    fn flush(&mut self) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move { self.call(|r| Cmd::Finish(Vec::new(), r)).await })
    }

    fn finish(
        &mut self,
        items: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move { self.call(|r| Cmd::Finish(items, r)).await })
    }
}

/// The gRPC address of a server as manifests write it.
fn endpoint(server: &str) -> String {
    let rest = ["grpc://", "ws://", "http://"]
        .iter()
        .find_map(|s| server.strip_prefix(s));
    let secure = ["wss://", "https://", "grpcs://"]
        .iter()
        .find_map(|s| server.strip_prefix(s));
    let (scheme, rest) = match (rest, secure) {
        (Some(r), _) => ("http", r),
        (_, Some(r)) => ("https", r),
        _ => ("http", server),
    };
    // A WebSocket path (`/ws`) is not gRPC's: the same host and port serve both.
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

/// One open session on the server.
struct Connection {
    requests: mpsc::Sender<StreamRequest>,
    responses: tonic::Streaming<StreamResponse>,
    next_sequence: u64,
}

async fn connect(target: &RemoteTarget) -> Result<Connection, NodeFailure> {
    let manifest =
        json_to_manifest(&target.manifest).map_err(|e| target.failure("input", e, None))?;
    let unavailable = |e: String| {
        target.failure(
            "unavailable",
            format!("cannot reach {}: {e}", target.server),
            None,
        )
    };
    let mut client = StreamingPipelineServiceClient::connect(endpoint(&target.server))
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .max_decoding_message_size(64 << 20);
    let (requests, inbox) = mpsc::channel(4);
    let init = StreamRequest {
        request: Some(Request::Init(proto::StreamInit {
            manifest: Some(manifest),
            client_version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        })),
    };
    let _ = requests.send(init).await;
    let mut call = tonic::Request::new(ReceiverStream::new(inbox));
    if let Some(token) = &target.token {
        if let Ok(value) = format!("Bearer {token}").parse() {
            call.metadata_mut().insert("authorization", value);
        }
    }
    let mut responses = client
        .stream_pipeline(call)
        .await
        .map_err(|status| status_failure(target, &status))?
        .into_inner();
    match next(target, &mut responses).await? {
        Response::Ready(_) => Ok(Connection {
            requests,
            responses,
            next_sequence: 0,
        }),
        Response::Error(e) => Err(server_error(target, &e)),
        _ => Err(target.failure(
            "closed",
            "the server closed the session at open".into(),
            None,
        )),
    }
}

/// A gRPC status as a failure: what the server refused, or a broken connection.
fn status_failure(target: &RemoteTarget, status: &tonic::Status) -> NodeFailure {
    let code = match status.code() {
        tonic::Code::Unauthenticated => "unauthenticated",
        tonic::Code::ResourceExhausted => "refused",
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => "unavailable",
        tonic::Code::DeadlineExceeded => "timeout",
        _ => "refused",
    };
    target.failure(
        code,
        format!("{}: {}", target.server, status.message()),
        None,
    )
}

/// The server's `ErrorResponse` as a failure carrying its error JSON.
fn server_error(target: &RemoteTarget, error: &proto::ErrorResponse) -> NodeFailure {
    let json: Option<Value> = serde_json::from_str(&error.context).ok();
    let code = json
        .as_ref()
        .and_then(|j| j["kind"].as_str())
        .unwrap_or("error")
        .to_owned();
    target.failure(&code, error.message.clone(), json)
}

async fn next(
    target: &RemoteTarget,
    responses: &mut tonic::Streaming<StreamResponse>,
) -> Result<Response, NodeFailure> {
    match responses.message().await {
        Ok(Some(StreamResponse { response: Some(r) })) => Ok(r),
        Ok(Some(_)) => Err(target.failure("closed", "an empty response".into(), None)),
        Ok(None) => Err(target.failure(
            "closed",
            format!("{} ended the session", target.server),
            None,
        )),
        Err(status) => Err(status_failure(target, &status)),
    }
}

impl Connection {
    /// Sends `items` as chunks, one each, and returns every output up to the last one's
    /// `ChunkResult`, in order.
    async fn exchange(
        &mut self,
        target: &RemoteTarget,
        items: &[RuntimeData],
    ) -> Result<Vec<RuntimeData>, NodeFailure> {
        self.send(target, items, false).await?;
        let Some(last) = self
            .next_sequence
            .checked_sub(1)
            .filter(|_| !items.is_empty())
        else {
            return Ok(Vec::new());
        };
        let mut outputs = Vec::new();
        loop {
            match next(target, &mut self.responses).await? {
                Response::Result(result) => {
                    outputs.extend(
                        outputs_from_map(&result.data_outputs)
                            .map_err(|e| target.failure("input", e, None))?
                            .into_iter()
                            .map(|(_, item)| item),
                    );
                    if result.sequence >= last {
                        return Ok(outputs);
                    }
                }
                Response::Error(e) => return Err(server_error(target, &e)),
                Response::Closed(c) => {
                    return Err(target.failure(
                        "closed",
                        format!("{} closed the session: {}", target.server, c.reason),
                        None,
                    ))
                }
                Response::Ready(_) | Response::Metrics(_) => {}
            }
        }
    }

    /// Sends `items` as chunks, one each; with `last`, the final one carries
    /// [`FINAL_CHUNK`].
    async fn send(
        &mut self,
        target: &RemoteTarget,
        items: &[RuntimeData],
        last: bool,
    ) -> Result<(), NodeFailure> {
        for (i, item) in items.iter().enumerate() {
            let mut buffer = data_to_buffer(item);
            if last && i + 1 == items.len() {
                buffer.metadata.insert(FINAL_CHUNK.into(), "true".into());
            }
            let chunk = proto::DataChunk {
                buffer: Some(buffer),
                sequence: self.next_sequence,
                ..Default::default()
            };
            self.next_sequence += 1;
            let request = StreamRequest {
                request: Some(Request::DataChunk(chunk)),
            };
            if self.requests.send(request).await.is_err() {
                return Err(target.failure("unavailable", "the connection closed".into(), None));
            }
        }
        Ok(())
    }

    /// The last `items` as the final chunk (or, with none, CLOSE): every output up to
    /// `StreamClosed`.
    async fn finish(
        mut self,
        target: &RemoteTarget,
        items: &[RuntimeData],
    ) -> Result<Vec<RuntimeData>, NodeFailure> {
        if items.is_empty() {
            let close = StreamRequest {
                request: Some(Request::Control(proto::StreamControl {
                    command: Command::Close as i32,
                })),
            };
            let _ = self.requests.send(close).await;
        } else {
            self.send(target, items, true).await?;
        }
        let mut outputs = Vec::new();
        loop {
            match next(target, &mut self.responses).await? {
                Response::Result(result) => outputs.extend(
                    outputs_from_map(&result.data_outputs)
                        .map_err(|e| target.failure("input", e, None))?
                        .into_iter()
                        .map(|(_, item)| item),
                ),
                Response::Error(e) => return Err(server_error(target, &e)),
                Response::Closed(_) => return Ok(outputs),
                Response::Ready(_) | Response::Metrics(_) => {}
            }
        }
    }
}

/// One remote node's life: open, then each command in turn, within the node's timeout;
/// a broken connection is opened again up to `reconnect` times.
async fn actor(
    target: RemoteTarget,
    mut commands: mpsc::Receiver<Cmd>,
    ready: oneshot::Sender<Result<(), NodeFailure>>,
) {
    let limit = Duration::from_millis(target.timeout_ms.max(1));
    let timed_out = |what: &str| {
        target.failure(
            "timeout",
            format!(
                "{what} took longer than {} ms on {}",
                target.timeout_ms, target.server
            ),
            None,
        )
    };
    let mut connection = match tokio::time::timeout(limit, connect(&target)).await {
        Ok(Ok(c)) => Some(c),
        Ok(Err(e)) => return drop(ready.send(Err(e))),
        Err(_) => return drop(ready.send(Err(timed_out("opening the session")))),
    };
    let _ = ready.send(Ok(()));
    let mut restart = Restart::default();
    while let Some(cmd) = commands.recv().await {
        match cmd {
            Cmd::Process(items, reply) => {
                let mut attempts = 0;
                let result = loop {
                    let conn = match connection.as_mut() {
                        Some(c) => c,
                        None => match tokio::time::timeout(limit, connect(&target)).await {
                            Ok(Ok(c)) => connection.insert(c),
                            Ok(Err(e)) => break Err(e),
                            Err(_) => break Err(timed_out("opening the session")),
                        },
                    };
                    let outcome =
                        match tokio::time::timeout(limit, conn.exchange(&target, &items)).await {
                            Ok(outcome) => outcome,
                            Err(_) => Err(timed_out("a chunk")),
                        };
                    match outcome {
                        Ok(mut out) => {
                            restart.mark(&mut out);
                            break Ok(out);
                        }
                        Err(e) => {
                            connection = None;
                            if e.is_broken_connection() && attempts < target.reconnect {
                                attempts += 1;
                                restart.reconnected();
                                continue;
                            }
                            break Err(e);
                        }
                    }
                };
                let _ = reply.send(result);
            }
            Cmd::Finish(items, reply) => {
                let conn = match connection.take() {
                    Some(conn) => Ok(conn),
                    None if items.is_empty() => {
                        let _ = reply.send(Ok(Vec::new()));
                        return;
                    }
                    None => match tokio::time::timeout(limit, connect(&target)).await {
                        Ok(c) => c,
                        Err(_) => Err(timed_out("opening the session")),
                    },
                };
                let result = match conn {
                    Ok(conn) => {
                        match tokio::time::timeout(limit, conn.finish(&target, &items)).await {
                            Ok(result) => result,
                            Err(_) => Err(timed_out("the last chunk")),
                        }
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(result.map(|mut out| {
                    restart.mark(&mut out);
                    out
                }));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn servers_as_manifests_write_them_become_grpc_addresses() {
        assert_eq!(endpoint("127.0.0.1:50051"), "http://127.0.0.1:50051");
        assert_eq!(endpoint("grpc://h:1"), "http://h:1");
        assert_eq!(endpoint("ws://h:1/ws"), "http://h:1");
        assert_eq!(endpoint("wss://h.example/ws"), "https://h.example");
        assert_eq!(endpoint("http://h:2"), "http://h:2");
    }
}
