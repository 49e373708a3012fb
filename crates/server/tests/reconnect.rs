//! A remote node whose server goes away mid-session (`RemotePipelineNode`'s `reconnect`,
//! `docs/remote.md`): with `reconnect: 1` the next push opens a new session on the server
//! that came back on the same address (fresh node state there: Echo's counter starts
//! again, and the first audio item says so); with `reconnect: 0` it is a `RemoteError`.

use std::net::SocketAddr;
use std::time::Duration;

use remotemedia_runtime::{CancelFlag, Executor, RunError, RuntimeData};
use remotemedia_server::ServerConfig;
use serde_json::json;
use tokio::sync::oneshot;

/// A server on `addr` until the returned sender fires; the handle ends when it has stopped.
fn start(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
    SocketAddr,
) {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .expect("the address is free again");
    let bound = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let config = ServerConfig {
        shutdown_grace: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    let done = runtime.spawn(remotemedia_server::serve(config, listener, async move {
        let _ = stopped.await;
    }));
    (stop, done, bound)
}

fn echo_counter(outputs: &[remotemedia_runtime::executor::Output]) -> (String, u64) {
    let RuntimeData::Json(v) = &outputs[0].data else {
        panic!("Echo answers JSON")
    };
    (
        v["input"].as_str().unwrap().to_owned(),
        v["counter"].as_u64().unwrap(),
    )
}

#[test]
fn a_session_that_broke_is_opened_again_only_when_the_manifest_says_so() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (mut stop, mut done, addr) = start(&runtime, "127.0.0.1:0".parse().unwrap());
    for reconnect in [1, 0] {
        let manifest = json!({
            "version": "v1", "metadata": {"name": "reconnect"},
            "nodes": [{"id": "r", "node_type": "RemotePipelineNode", "params": {
                "endpoint": format!("grpc://{addr}"),
                "manifest": {"version": "v1", "metadata": {"name": "e"}, "nodes": [{"id": "e", "node_type": "Echo"}]},
                "timeout_ms": 5000,
                "reconnect": reconnect
            }}]
        });
        let executor = Executor::default().with_remote(remotemedia_server::client::provider(None));
        let manifest = executor.parse(&manifest).unwrap();
        let cancel = CancelFlag::new();
        let mut session = pollster::block_on(executor.open(&manifest)).unwrap();
        let first =
            pollster::block_on(session.push(RuntimeData::Text("a".into()), &cancel)).unwrap();
        let second =
            pollster::block_on(session.push(RuntimeData::Text("b".into()), &cancel)).unwrap();
        assert_eq!(
            (echo_counter(&first), echo_counter(&second)),
            (("a".into(), 1), ("b".into(), 2))
        );
        // The server goes away (its sessions are told to close), and a new one comes up
        // on the same address.
        stop.send(()).unwrap();
        runtime.block_on(done).unwrap().unwrap();
        (stop, done, _) = start(&runtime, addr);
        let after = pollster::block_on(session.push(RuntimeData::Text("c".into()), &cancel));
        if reconnect == 1 {
            // A new session on the new server: Echo's state starts again.
            assert_eq!(echo_counter(&after.unwrap()), ("c".into(), 1));
        } else {
            let Err(RunError::Remote { failure, .. }) = after else {
                panic!("expected a remote error, got {after:?}")
            };
            // `closed` if the server's StreamClosed was read first, else `unavailable`.
            assert!(
                matches!(failure.code.as_str(), "closed" | "unavailable"),
                "{failure:?}"
            );
        }
    }
    stop.send(()).unwrap();
    runtime.block_on(done).unwrap().unwrap();
}

/// After a reconnect, the first audio item carries `remotemedia.restart` (positions in its
/// metadata count from there: the VAD consumers carry on), and only that one.
#[test]
fn the_first_audio_after_a_reconnect_is_marked_as_a_restart() {
    use remotemedia_runtime::remote::RESTART_KEY;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (stop, done, addr) = start(&runtime, "127.0.0.1:0".parse().unwrap());
    let manifest = json!({
        "version": "v1", "metadata": {"name": "reconnect"},
        "nodes": [{"id": "r", "node_type": "RemotePipelineNode", "params": {
            "endpoint": format!("grpc://{addr}"),
            "manifest": {"version": "v1", "metadata": {"name": "p"}, "nodes": [{"id": "p", "node_type": "PassThrough"}]},
            "timeout_ms": 5000,
            "reconnect": 1
        }}]
    });
    let executor = Executor::default().with_remote(remotemedia_server::client::provider(None));
    let manifest = executor.parse(&manifest).unwrap();
    let cancel = CancelFlag::new();
    let mut session = pollster::block_on(executor.open(&manifest)).unwrap();
    let audio = || {
        RuntimeData::Audio(remotemedia_runtime::AudioBuffer::new(
            vec![0.25; 160],
            16_000,
            1,
        ))
    };
    // Each push's outputs: whether each carries the mark.
    let mut push = || -> Vec<Option<serde_json::Value>> {
        pollster::block_on(session.push(audio(), &cancel))
            .unwrap()
            .iter()
            .map(|o| match &o.data {
                RuntimeData::Audio(a) => a.metadata.get(RESTART_KEY).cloned(),
                other => panic!("PassThrough gave {other:?}"),
            })
            .collect()
    };
    let before = push();
    stop.send(()).unwrap();
    runtime.block_on(done).unwrap().unwrap();
    let (stop, done, _) = start(&runtime, addr);
    let (restarted, after) = (push(), push());
    assert_eq!(
        (before, restarted, after),
        (vec![None], vec![Some(json!(true))], vec![None])
    );
    stop.send(()).unwrap();
    runtime.block_on(done).unwrap().unwrap();
}
