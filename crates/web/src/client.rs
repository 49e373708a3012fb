//! The app side: spawns the two workers and talks to them with typed messages.
//!
//! ```no_run
//! # async fn demo(wav: Vec<u8>, voice: &str) -> Result<(), remotemedia_web::RunError> {
//! use remotemedia_web::{Item, RemoteMedia};
//! let rm = RemoteMedia::spawn("/remotemedia/runner.js", "/remotemedia/sessions.js");
//! // `voice` is a manifest's JSON text, e.g. examples/pipelines/voice.json.
//! let result = rm.run(voice, vec![Item::Binary(wav)]).await?;
//! let mut session = rm.open(voice).await?;
//! let outputs = session.push(Item::Binary(vec![])).await;
//! # Ok(()) }
//! ```

use futures::StreamExt;
use gloo_worker::oneshot::{OneshotBridge, OneshotSpawner};
use gloo_worker::reactor::{ReactorBridge, ReactorSpawner};

use crate::codec::JsObjects;
use crate::messages::{
    Item, Output, RunError, RunRequest, RunResult, RunnerInput, SessionInput, SessionOutput,
};
use crate::runner::Runner;
use crate::sessions::Sessions;

/// The RemoteMedia workers of an app: one for batch runs, one for sessions (started on
/// the first `open`). Both are module workers. Dropping it drops the bridges; the
/// workers end when their last bridge (a running call, an open session) is gone.
pub struct RemoteMedia {
    runner: OneshotBridge<Runner>,
    sessions_script: String,
    sessions: std::cell::OnceCell<ReactorBridge<Sessions>>,
}

impl RemoteMedia {
    /// Spawns the batch-run worker from `runner_script` and remembers `sessions_script`:
    /// module scripts that load this crate's wasm and register the workers (`js/runner.js`
    /// and `js/sessions.js`, next to the `wasm-pack build --target web` output). Panics
    /// (inside gloo-worker) if the browser refuses to start a worker from that URL, as
    /// `new Worker` throws for a cross-origin script.
    pub fn spawn(runner_script: &str, sessions_script: &str) -> Self {
        let runner = OneshotSpawner::<Runner>::new()
            .encoding::<JsObjects>()
            .with_loader(true)
            .as_module(true)
            .spawn(runner_script);
        RemoteMedia {
            runner,
            sessions_script: sessions_script.into(),
            sessions: Default::default(),
        }
    }

    /// A batch run of `manifest` (JSON text) on `inputs`. Runs may overlap; they are
    /// computed one at a time in the worker. Dropping the future cancels the wait (the
    /// worker finishes the run and its answer is dropped).
    ///
    /// Errors: [`RunError::Manifest`] (every problem), [`RunError::NeedsPython`],
    /// [`RunError::Node`], [`RunError::Input`].
    pub async fn run(&self, manifest: &str, inputs: Vec<Item>) -> Result<RunResult, RunError> {
        let mut bridge = self.runner.fork();
        bridge
            .run(RunnerInput::Run(RunRequest {
                manifest: manifest.into(),
                inputs,
            }))
            .await
    }

    /// Opens a streaming session of `manifest` (JSON text) in the session worker.
    /// Errors as for [`RemoteMedia::run`].
    pub async fn open(&self, manifest: &str) -> Result<Session, RunError> {
        let shared = self.sessions.get_or_init(|| {
            ReactorSpawner::<Sessions>::new()
                .encoding::<JsObjects>()
                .with_loader(true)
                .as_module(true)
                .spawn(&self.sessions_script)
        });
        let mut session = Session {
            bridge: shared.fork(),
        };
        match session
            .ask(SessionInput::Open {
                manifest: manifest.into(),
            })
            .await?
        {
            SessionOutput::Opened => Ok(session),
            other => Err(unexpected(other)),
        }
    }
}

impl RemoteMedia {
    /// How many sessions the session worker holds (opened, and neither closed nor
    /// dropped); 0 before the first [`RemoteMedia::open`]. For apps that watch for
    /// sessions they forgot. Errors: [`RunError::WorkerGone`].
    pub async fn open_sessions(&self) -> Result<usize, RunError> {
        let Some(shared) = self.sessions.get() else {
            return Ok(0);
        };
        // A bridge of its own, which never opens a session.
        let mut probe = Session {
            bridge: shared.fork(),
        };
        match probe.ask(SessionInput::Count).await? {
            SessionOutput::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }
}

/// A streaming session: node state lives in the session worker across pushes.
/// Dropping it ends the session there.
pub struct Session {
    bridge: ReactorBridge<Sessions>,
}

impl Session {
    /// Pushes one item to every source node; resolves with what the sinks produced.
    /// After an error the session is over: later calls fail with `SessionClosed`.
    pub async fn push(&mut self, item: Item) -> Result<Vec<Output>, RunError> {
        match self.ask(SessionInput::Push(item)).await? {
            SessionOutput::Outputs(outputs) => Ok(outputs),
            other => Err(unexpected(other)),
        }
    }

    /// Flushes every node and ends the session; resolves with the last outputs.
    pub async fn close(mut self) -> Result<Vec<Output>, RunError> {
        match self.ask(SessionInput::Close).await? {
            SessionOutput::Closed(outputs) => Ok(outputs),
            other => Err(unexpected(other)),
        }
    }

    async fn ask(&mut self, input: SessionInput) -> Result<SessionOutput, RunError> {
        self.bridge.send_input(input);
        match self.bridge.next().await {
            Some(SessionOutput::Failed(e)) => Err(e),
            Some(answer) => Ok(answer),
            None => Err(RunError::WorkerGone),
        }
    }
}

fn unexpected(answer: SessionOutput) -> RunError {
    match answer {
        SessionOutput::Failed(e) => e,
        other => RunError::Malformed(format!(
            "unexpected answer from the session worker: {other:?}"
        )),
    }
}
