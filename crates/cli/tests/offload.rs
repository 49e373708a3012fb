//! Offloading from the native CLI (`docs/remote.md`): a node with `host`, and a
//! `RemotePipelineNode`, run on a `remotemedia serve` this test starts; the rest of the
//! graph runs here, and the answers equal a run with nothing offloaded. A server that is
//! not there, or goes away, is a typed `remote` error.
#[path = "../../runtime/tests/common/mod.rs"]
mod common;
mod serve;

use serve::Server;

use std::process::Command;

use serde_json::{json, Value};

const CLI: &str = env!("CARGO_BIN_EXE_remotemedia");

fn run(manifest: &Value, envs: &[(&str, &str)]) -> (i32, Value, String) {
    let dir = common::repo().join("target/offload-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "m-{}.json",
        std::process::id() as u64 * 1000 + rand_suffix()
    ));
    std::fs::write(&path, manifest.to_string()).unwrap();
    let out = Command::new(CLI)
        .args([
            "run",
            path.to_str().unwrap(),
            "--input",
            "node_modules/audio-lena/lena.wav",
        ])
        .envs(envs.iter().copied())
        .current_dir(common::repo())
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn voice_silero() -> Value {
    let text = std::fs::read_to_string(common::repo().join("examples/pipelines/voice-silero.json"))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Asserts two results have the same outputs (timings aside), saying only where they
/// differ (an item may be megabytes of base64).
fn assert_same_outputs(remote: &Value, local: &Value) {
    assert_eq!(remote["outputs_by_node"], local["outputs_by_node"]);
    let (a, b) = (
        remote["outputs"].as_array().unwrap(),
        local["outputs"].as_array().unwrap(),
    );
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            x == y,
            "output {i} differs: {:.300} vs {:.300}",
            x.to_string(),
            y.to_string()
        );
    }
}

#[test]
fn a_node_with_host_runs_on_the_server_and_answers_as_locally() {
    let server = Server::start(&[]);
    let local = run(&voice_silero(), &[]);
    assert_eq!(local.0, 0, "{}", local.2);
    let mut manifest = voice_silero();
    manifest["nodes"][2]["host"] = json!(server.addr);
    let (code, remote, stderr) = run(&manifest, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_outputs(&remote, &local.1);
    let vad = &common::sink_items(&remote, "vad")[0]["audio"]["meta"]["metadata"]["vad"];
    assert!(
        vad["segments"].as_array().is_some_and(|s| s.len() >= 2),
        "{vad}"
    );
    // Validation says which node runs where.
    let path = common::repo().join("target/offload-tests/validate.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let out = Command::new(CLI)
        .args(["validate", path.to_str().unwrap()])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["remote_nodes"],
        json!([{ "node_id": "vad", "server": server.addr }])
    );
}

#[test]
fn a_remote_pipeline_node_runs_its_manifest_there() {
    let server = Server::start(&["--token", "t0ken"]);
    let local = run(&voice_silero(), &[]);
    let mut manifest = voice_silero();
    let vad = manifest["nodes"][2].clone();
    manifest["nodes"][2] = json!({
        "id": "vad",
        "node_type": "RemotePipelineNode",
        "params": {
            "server_url": format!("grpc://{}", server.addr),
            "pipeline_manifest": { "version": "v1", "metadata": { "name": "vad" }, "nodes": [vad] },
            "timeout_ms": 20000,
            "auth_token": "t0ken"
        }
    });
    let (code, remote, stderr) = run(&manifest, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_outputs(&remote, &local.1);
    // Without the token the server refuses, and the error says who and why.
    manifest["nodes"][2]["params"]
        .as_object_mut()
        .unwrap()
        .remove("auth_token");
    let (code, failed, _) = run(&manifest, &[]);
    assert_eq!(code, 1);
    let error = &failed["error"];
    assert_eq!(error["kind"], "remote", "{failed}");
    assert_eq!(error["name"], "RemoteError");
    assert_eq!(error["code"], "unauthenticated");
    assert_eq!(error["node_id"], "vad");
    // The host's token (REMOTEMEDIA_TOKEN) is used where the manifest gives none.
    let (code, _, stderr) = run(&manifest, &[("REMOTEMEDIA_TOKEN", "t0ken")]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn server_errors_and_absent_servers_are_remote_errors() {
    let server = Server::start(&[]);
    let mut manifest = voice_silero();
    manifest["nodes"][2]["host"] = json!(server.addr);
    manifest["nodes"][2]["node_type"] = json!("NoSuchNodeAnywhere");
    let (code, failed, _) = run(&manifest, &[]);
    assert_eq!(code, 1);
    assert_eq!(failed["error"]["kind"], "remote", "{failed}");
    assert_eq!(failed["error"]["code"], "manifest");
    assert_eq!(failed["error"]["remote"]["kind"], "manifest");
    drop(server);
    let mut manifest = voice_silero();
    manifest["nodes"][2]["host"] = json!("127.0.0.1:9");
    let (code, failed, _) = run(&manifest, &[]);
    assert_eq!(code, 1);
    assert_eq!(failed["error"]["code"], "unavailable", "{failed}");
    assert_eq!(failed["error"]["server"], "127.0.0.1:9");
}
