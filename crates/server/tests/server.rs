//! A real server on loopback, in this process, through the generated tonic client, a
//! WebSocket client and plain HTTP: limits, the token, CORS, gRPC-Web, idle sessions, a
//! client that vanishes, bad frames, `/health`, `/metrics` and graceful shutdown.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message;
use remotemedia_server::proto::{
    self, data_buffer::DataType, pipeline_execution_service_client::PipelineExecutionServiceClient,
    stream_control::Command, stream_request::Request, stream_response::Response,
    streaming_pipeline_service_client::StreamingPipelineServiceClient, DataBuffer, StreamRequest,
    StreamResponse,
};
use remotemedia_server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tokio_tungstenite::tungstenite::Message as Ws;

/// A server on a free port; `stop` begins its graceful shutdown.
struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(config: ServerConfig) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(remotemedia_server::serve(config, listener, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            done,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn http(&self, request: &str) -> String {
        let mut tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tcp.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    async fn get(&self, path: &str) -> String {
        self.http(&format!(
            "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        ))
        .await
    }
}

fn calculator() -> proto::PipelineManifest {
    proto::PipelineManifest {
        version: "v1".into(),
        metadata: Some(proto::ManifestMetadata {
            name: "calc".into(),
            ..Default::default()
        }),
        nodes: vec![proto::NodeManifest {
            id: "calc".into(),
            node_type: "CalculatorNode".into(),
            params: r#"{"operation": "multiply", "operand": 2}"#.into(),
            ..Default::default()
        }],
        connections: vec![],
    }
}

fn json_buffer(value: serde_json::Value) -> DataBuffer {
    DataBuffer {
        data_type: Some(DataType::Json(proto::JsonData {
            json_payload: value.to_string(),
            schema_type: String::new(),
        })),
        metadata: Default::default(),
    }
}

fn init() -> StreamRequest {
    StreamRequest {
        request: Some(Request::Init(proto::StreamInit {
            manifest: Some(calculator()),
            ..Default::default()
        })),
    }
}

fn chunk(sequence: u64, value: serde_json::Value) -> StreamRequest {
    StreamRequest {
        request: Some(Request::DataChunk(proto::DataChunk {
            buffer: Some(json_buffer(value)),
            sequence,
            ..Default::default()
        })),
    }
}

fn close() -> StreamRequest {
    StreamRequest {
        request: Some(Request::Control(proto::StreamControl {
            command: Command::Close as i32,
        })),
    }
}

fn kind(response: &StreamResponse) -> &'static str {
    match response.response {
        Some(Response::Ready(_)) => "ready",
        Some(Response::Result(_)) => "result",
        Some(Response::Error(_)) => "error",
        Some(Response::Metrics(_)) => "metrics",
        Some(Response::Closed(_)) => "closed",
        None => "none",
    }
}

/// Opens a stream; returns its sender and the server's responses.
async fn open_stream(
    server: &Server,
) -> Result<
    (
        mpsc::Sender<StreamRequest>,
        tonic::Streaming<StreamResponse>,
    ),
    tonic::Status,
> {
    let mut client = StreamingPipelineServiceClient::connect(server.url())
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(8);
    tx.send(init()).await.unwrap();
    let responses = client
        .stream_pipeline(ReceiverStream::new(rx))
        .await?
        .into_inner();
    Ok((tx, responses))
}

async fn next(responses: &mut tonic::Streaming<StreamResponse>) -> StreamResponse {
    tokio::time::timeout(Duration::from_secs(10), responses.message())
        .await
        .expect("an answer within 10 s")
        .expect("no transport error")
        .expect("the stream is open")
}

#[tokio::test]
async fn sessions_over_the_limit_are_refused_and_vanished_clients_free_theirs() {
    let server = Server::start(ServerConfig {
        max_sessions: 1,
        ..ServerConfig::default()
    })
    .await;
    let (tx, mut responses) = open_stream(&server).await.unwrap();
    assert_eq!(kind(&next(&mut responses).await), "ready");
    let Err(refused) = open_stream(&server).await else {
        panic!("a second session was accepted")
    };
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert!(server
        .get("/health")
        .await
        .contains("\"sessions_active\":1"));
    // The client vanishes without CLOSE: its session ends and its place is free again.
    drop(tx);
    drop(responses);
    let mut freed = false;
    for _ in 0..50 {
        if server
            .get("/health")
            .await
            .contains("\"sessions_active\":0")
        {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "the vanished client's session was not freed");
    let (tx, mut responses) = open_stream(&server).await.unwrap();
    assert_eq!(kind(&next(&mut responses).await), "ready");
    tx.send(chunk(0, serde_json::json!(21))).await.unwrap();
    let Some(Response::Result(result)) = next(&mut responses).await.response else {
        panic!("a result")
    };
    assert_eq!(result.sequence, 0);
    assert!(matches!(
        &result.data_outputs["calc"].data_type,
        Some(DataType::Json(j)) if j.json_payload == "42"
    ));
    let metrics = server.get("/metrics").await;
    assert!(
        metrics.contains("remotemedia_sessions_total 2"),
        "{metrics}"
    );
    assert!(metrics.contains("kind=\"sessions_full\""), "{metrics}");
}

#[tokio::test]
async fn the_token_guards_every_call_but_health() {
    let server = Server::start(ServerConfig {
        token: Some("s3cret".into()),
        ..ServerConfig::default()
    })
    .await;
    let mut client = PipelineExecutionServiceClient::connect(server.url())
        .await
        .unwrap();
    let refused = client
        .get_version(proto::VersionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let mut request = tonic::Request::new(proto::VersionRequest::default());
    request
        .metadata_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    assert!(client.get_version(request).await.is_ok());
    assert!(server.get("/health").await.starts_with("HTTP/1.1 200"));
    let ws = format!("ws://{}/ws", server.addr);
    assert!(tokio_tungstenite::connect_async(&ws).await.is_err());
    assert!(
        tokio_tungstenite::connect_async(format!("{ws}?token=s3cret"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn oversize_messages_are_refused_and_the_server_goes_on() {
    let server = Server::start(ServerConfig {
        max_message_bytes: 64 * 1024,
        ..ServerConfig::default()
    })
    .await;
    let mut client = PipelineExecutionServiceClient::connect(server.url())
        .await
        .unwrap();
    let big = proto::ExecuteRequest {
        manifest: Some(calculator()),
        data_inputs: [(
            "calc".to_string(),
            DataBuffer {
                data_type: Some(DataType::Binary(proto::BinaryBuffer {
                    data: vec![0; 100 * 1024],
                    mime_type: String::new(),
                })),
                metadata: Default::default(),
            },
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let refused = client.execute_pipeline(big).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{refused}");
    let ok = client
        .execute_pipeline(proto::ExecuteRequest {
            manifest: Some(calculator()),
            data_inputs: [("calc".to_string(), json_buffer(serde_json::json!(4)))]
                .into_iter()
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let Some(proto::execute_response::Outcome::Result(result)) = ok.outcome else {
        panic!("a result")
    };
    assert!(matches!(
        &result.data_outputs["calc"].data_type,
        Some(DataType::Json(j)) if j.json_payload == "8"
    ));
}

#[tokio::test]
async fn an_idle_session_is_closed_with_a_timeout() {
    let server = Server::start(ServerConfig {
        session_idle: Duration::from_millis(300),
        ..ServerConfig::default()
    })
    .await;
    let (_tx, mut responses) = open_stream(&server).await.unwrap();
    assert_eq!(kind(&next(&mut responses).await), "ready");
    let Some(Response::Error(error)) = next(&mut responses).await.response else {
        panic!("an error")
    };
    assert!(error.context.contains("STREAM_ERROR_TIMEOUT"), "{error:?}");
    let rest: Vec<&str> = [next(&mut responses).await, next(&mut responses).await]
        .iter()
        .map(kind)
        .collect();
    assert_eq!(rest, ["metrics", "closed"]);
}

#[tokio::test]
async fn shutdown_closes_open_sessions_with_stream_closed() {
    let mut server = Server::start(ServerConfig::default()).await;
    let (tx, mut responses) = open_stream(&server).await.unwrap();
    assert_eq!(kind(&next(&mut responses).await), "ready");
    tx.send(chunk(0, serde_json::json!(1))).await.unwrap();
    assert_eq!(kind(&next(&mut responses).await), "result");
    server.stop.take().unwrap().send(()).unwrap();
    let mut last = next(&mut responses).await;
    while kind(&last) != "closed" {
        last = next(&mut responses).await;
    }
    let Some(Response::Closed(closed)) = last.response else {
        unreachable!()
    };
    assert_eq!(closed.reason, "server shutting down");
    tokio::time::timeout(Duration::from_secs(15), server.done)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn websocket_sessions_speak_the_same_messages_and_survive_bad_frames() {
    let server = Server::start(ServerConfig::default()).await;
    let url = format!("ws://{}/ws", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    for request in [init(), chunk(0, serde_json::json!(5)), close()] {
        ws.send(Ws::Binary(request.encode_to_vec().into()))
            .await
            .unwrap();
    }
    let mut kinds = Vec::new();
    let mut answer = None;
    while let Some(Ok(Ws::Binary(bytes))) = ws.next().await {
        let response = StreamResponse::decode(bytes.as_ref()).unwrap();
        kinds.push(kind(&response));
        if let Some(Response::Result(r)) = &response.response {
            answer = r.data_outputs.get("calc").cloned();
        }
    }
    assert_eq!(kinds, ["ready", "result", "metrics", "closed"]);
    assert!(matches!(answer.unwrap().data_type, Some(DataType::Json(j)) if j.json_payload == "10"));
    // Garbage in a binary frame: an error, the session ends, the server goes on.
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    ws.send(Ws::Binary(init().encode_to_vec().into()))
        .await
        .unwrap();
    ws.send(Ws::Binary(vec![0xff, 0xff, 0xff].into()))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let mut context = String::new();
    while let Some(Ok(Ws::Binary(bytes))) = ws.next().await {
        let response = StreamResponse::decode(bytes.as_ref()).unwrap();
        kinds.push(kind(&response));
        if let Some(Response::Error(e)) = response.response {
            context = e.context;
        }
    }
    assert_eq!(kinds, ["ready", "error", "metrics", "closed"]);
    assert!(context.contains("\"kind\":\"input\""), "{context}");
    assert!(server.get("/health").await.contains("\"status\":\"ok\""));
}

#[tokio::test]
async fn websocket_json_frames_for_browsers_and_their_origin() {
    use remotemedia_runtime::remote_json::{ClientMessage, ServerMessage};
    use remotemedia_runtime::RuntimeData;
    let server = Server::start(ServerConfig {
        cors_origins: vec!["http://app.example".into()],
        ..ServerConfig::default()
    })
    .await;
    let url = format!("ws://{}/ws", server.addr);
    let manifest = serde_json::json!({
        "version": "v1", "metadata": {"name": "calc"},
        "nodes": [{"id": "calc", "node_type": "CalculatorNode", "params": {"operation": "multiply", "operand": 3}}]
    });
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://app.example".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let messages = [
        ClientMessage::Init { manifest },
        ClientMessage::Chunk {
            sequence: 0,
            item: RuntimeData::Json(serde_json::json!(2)),
            last: false,
        },
        ClientMessage::Chunk {
            sequence: 1,
            item: RuntimeData::Json(serde_json::json!(5)),
            last: true,
        },
    ];
    for m in messages {
        ws.send(Ws::Text(m.to_text().into())).await.unwrap();
    }
    let mut answers = Vec::new();
    while let Some(Ok(Ws::Text(text))) = ws.next().await {
        answers.push(ServerMessage::parse(text.as_str()).unwrap());
    }
    let results: Vec<(u64, Vec<(String, RuntimeData)>)> = answers
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Result { sequence, outputs } => Some((*sequence, outputs.clone())),
            _ => None,
        })
        .collect();
    let six = RuntimeData::Json(serde_json::json!(6));
    let fifteen = RuntimeData::Json(serde_json::json!(15));
    assert_eq!(
        results,
        [
            (0, vec![("calc".into(), six)]),
            (1, vec![("calc".into(), fifteen)])
        ]
    );
    assert!(matches!(answers.first(), Some(ServerMessage::Ready { .. })));
    assert!(
        matches!(answers.last(), Some(ServerMessage::Closed { reason }) if reason == "closed by client")
    );
    // A page of another origin is refused before any session opens.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");
}

#[tokio::test]
async fn grpc_web_and_cors_for_pages() {
    let server = Server::start(ServerConfig {
        cors_origins: vec!["http://app.example".into()],
        ..ServerConfig::default()
    })
    .await;
    let body = proto::VersionRequest {
        client_version: "1.0.0".into(),
    }
    .encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    let head = format!(
        "POST /remotemedia.v1.PipelineExecutionService/GetVersion HTTP/1.1\r\nhost: x\r\n\
         origin: http://app.example\r\ncontent-type: application/grpc-web+proto\r\n\
         x-grpc-web: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        frame.len()
    );
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&frame).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("access-control-allow-origin: http://app.example"),
        "{text}"
    );
    assert!(text.contains("CalculatorNode"), "{text}");
    assert!(text.contains("grpc-status:0"), "{text}");
    let preflight = server
        .http(
            "OPTIONS /ws HTTP/1.1\r\nhost: x\r\norigin: http://other.example\r\n\
             access-control-request-method: GET\r\nconnection: close\r\n\r\n",
        )
        .await;
    assert!(
        !preflight.contains("access-control-allow-origin"),
        "{preflight}"
    );
}
