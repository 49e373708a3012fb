//! `remotemedia serve` for the CLI's tests: started on a free port, killed when dropped.
#![allow(dead_code)] // each test file uses what it needs

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running server and its `HOST:PORT`.
pub struct Server {
    /// The server process.
    pub child: Child,
    /// Where it listens, as it printed it.
    pub addr: String,
}

impl Server {
    /// Starts `remotemedia serve --listen 127.0.0.1:0` with `args`, and waits for its
    /// `listening on` line.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_remotemedia"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_owned();
        Server { child, addr }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
