//! Scale-out on a standard proxy (`docs/deploy.md`): two `remotemedia serve` replicas
//! behind Debian's nginx on loopback, with the configuration `docs/deploy.md` gives
//! (`deploy/nginx.conf`, its ports and upstreams filled in). Sessions spread across both;
//! when one replica dies, new sessions and calls go to the other.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use remotemedia_runtime::remote_json::{ClientMessage, ServerMessage};
use serde_json::json;

mod serve;

use serve::Server;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal WebSocket client (RFC 6455, text frames, masked) over a blocking socket:
/// enough to open a session through the proxy and read its `ready`.
fn websocket_session(port: u16) -> Result<String, String> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).map_err(|e| e.to_string())?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    if !head.starts_with("HTTP/1.1 101") {
        return Err(head.lines().next().unwrap_or("").to_owned());
    }
    let manifest = json!({"version": "v1", "metadata": {"name": "e"}, "nodes": [{"id": "e", "node_type": "Echo"}]});
    let text = ClientMessage::Init { manifest }.to_text();
    let mut frame = vec![0x81u8];
    let len = text.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    }
    let mask = [1u8, 2, 3, 4];
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&frame).map_err(|e| e.to_string())?;
    let mut header = [0u8; 2];
    tcp.read_exact(&mut header).map_err(|e| e.to_string())?;
    let mut len = usize::from(header[1] & 0x7f);
    if len == 126 {
        let mut ext = [0u8; 2];
        tcp.read_exact(&mut ext).map_err(|e| e.to_string())?;
        len = usize::from(u16::from_be_bytes(ext));
    }
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).map_err(|e| e.to_string())?;
    match ServerMessage::parse(&String::from_utf8_lossy(&payload)) {
        Ok(ServerMessage::Ready { session_id }) => Ok(session_id),
        other => Err(format!("{other:?}")),
    }
}

/// The replica that served a session: session ids start with the server's process id.
fn replica_of(session_id: &str) -> String {
    session_id.split('-').next().unwrap_or("").to_owned()
}

#[test]
fn two_replicas_behind_nginx_share_sessions_and_survive_the_loss_of_one() {
    let Ok(nginx) = which("nginx") else {
        panic!("nginx is not installed: `npm run setup` installs Debian's nginx");
    };
    let a = Server::start(&[]);
    let b = Server::start(&[]);
    let (port_a, port_b) = (a.port(), b.port());
    let (web, grpc) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("remotemedia-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/nginx.conf"
    ))
    .unwrap();
    let conf = template
        .replace(
            "server remotemedia-0:50051",
            &format!("server 127.0.0.1:{port_a}"),
        )
        .replace(
            "server remotemedia-1:50051",
            &format!("server 127.0.0.1:{port_b}"),
        )
        .replace("listen 8080", &format!("listen 127.0.0.1:{web}"))
        .replace("listen 8081", &format!("listen 127.0.0.1:{grpc}"))
        .replace("/tmp/remotemedia-nginx", dir.to_str().unwrap())
        .replace(
            "/var/run/nginx.pid",
            dir.join("nginx.pid").to_str().unwrap(),
        );
    std::fs::write(dir.join("nginx.conf"), &conf).unwrap();
    let proxy = Killed(
        Command::new(nginx)
            .args([
                "-c",
                dir.join("nginx.conf").to_str().unwrap(),
                "-p",
                dir.to_str().unwrap(),
                "-e",
                "stderr",
                // One process in the foreground, so that this test owns (and stops) it.
                "-g",
                "daemon off; master_process off;",
            ])
            .spawn()
            .expect("nginx starts"),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", web)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Sessions spread across both replicas.
    let ids: Vec<String> = (0..6).map(|_| websocket_session(web).unwrap()).collect();
    let mut replicas: Vec<String> = ids.iter().map(|i| replica_of(i)).collect();
    replicas.sort();
    replicas.dedup();
    assert_eq!(
        replicas.len(),
        2,
        "sessions all went to one replica: {ids:?}"
    );
    let pid_a = format!("{:x}", a.child.id());
    // One replica dies: every new session goes to the other.
    drop(a);
    let after: Vec<String> = (0..6)
        .map(|_| websocket_session(web).expect("a session through the surviving replica"))
        .collect();
    assert!(after.iter().all(|i| replica_of(i) != pid_a), "{after:?}");
    // gRPC through the proxy too (grpc_pass), answered by the survivor.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let version = runtime.block_on(async {
        use remotemedia_server::proto::pipeline_execution_service_client::PipelineExecutionServiceClient;
        let mut client = PipelineExecutionServiceClient::connect(format!("http://127.0.0.1:{grpc}")).await?;
        let answer = client.get_version(remotemedia_server::proto::VersionRequest::default()).await?;
        Ok::<_, Box<dyn std::error::Error>>(answer.into_inner())
    });
    let version = version.expect("GetVersion through nginx");
    assert_eq!(version.version_info.unwrap().protocol_version, "v1");
    let mut tcp = TcpStream::connect(("127.0.0.1", web)).unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut health = String::new();
    tcp.read_to_string(&mut health).unwrap();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    drop(proxy);
    let _ = std::fs::remove_dir_all(&dir);
}

fn which(program: &str) -> Result<String, ()> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = format!("{dir}/{program}");
        if std::path::Path::new(&path).exists() {
            return Ok(path);
        }
    }
    Err(())
}
