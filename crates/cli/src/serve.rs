//! `remotemedia serve [OPTIONS]`: the runtime as a server (`crates/server`, `docs/remote.md`).
//! Prints `listening on HOST:PORT` on stdout once it accepts connections, and shuts down
//! gracefully on SIGINT or SIGTERM (sessions get `StreamClosed`).

use std::net::SocketAddr;
use std::time::Duration;

use remotemedia_server::ServerConfig;

use crate::USAGE;

fn number<T: std::str::FromStr>(name: &str, value: Option<&String>) -> Result<T, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{name} needs a number\n{USAGE}"))
}

fn seconds(name: &str, value: Option<&String>) -> Result<Duration, String> {
    let s: f64 = number(name, value)?;
    if !(s.is_finite() && s > 0.0 && s < 1e9) {
        return Err(format!("{name} must be a number of seconds above 0"));
    }
    Ok(Duration::from_secs_f64(s))
}

/// Reads `serve`'s options. Errors: an unknown option or a bad value, with the usage.
pub fn parse(args: &[String]) -> Result<ServerConfig, String> {
    let mut config = ServerConfig {
        token: std::env::var("REMOTEMEDIA_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        ..ServerConfig::default()
    };
    let mut at = 0;
    while at < args.len() {
        let name = args[at].as_str();
        let value = args.get(at + 1);
        match name {
            "--listen" => {
                config.addr = value
                    .and_then(|v| v.parse::<SocketAddr>().ok())
                    .ok_or_else(|| {
                        format!("--listen needs HOST:PORT, e.g. 127.0.0.1:50051\n{USAGE}")
                    })?;
            }
            "--token" => config.token = Some(value.cloned().ok_or("--token needs a value")?),
            "--cors-origin" => config
                .cors_origins
                .push(value.cloned().ok_or("--cors-origin needs an origin")?),
            "--max-sessions" => config.max_sessions = number(name, value)?,
            "--max-message-bytes" => config.max_message_bytes = number(name, value)?,
            "--max-queued-chunks" => config.max_queued_chunks = number(name, value)?,
            "--session-idle-s" => config.session_idle = seconds(name, value)?,
            "--run-timeout-s" => config.run_timeout = seconds(name, value)?,
            "--shutdown-grace-s" => config.shutdown_grace = seconds(name, value)?,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
        at += 2;
    }
    if config.max_sessions == 0 || config.max_queued_chunks == 0 || config.max_message_bytes < 1024
    {
        return Err("--max-sessions and --max-queued-chunks must be at least 1, --max-message-bytes at least 1024".into());
    }
    Ok(config)
}

/// Runs the server until SIGINT or SIGTERM. Errors: the address cannot be bound.
pub fn run(config: ServerConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        crate::print_line(&format!("listening on {addr}"));
        remotemedia_server::serve(config, listener, stop_signal())
            .await
            .map_err(|e| format!("the server failed: {e}"))
    })
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
