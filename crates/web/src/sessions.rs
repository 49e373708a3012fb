//! The session worker: a gloo-worker reactor. Each bridge is one session: `Open`, then
//! `Push`es, then `Close`, each answered in order. Dropping the bridge ends the session
//! (its node state is freed).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{SinkExt, StreamExt};
use gloo_worker::reactor::{Reactor, ReactorRegistrar, ReactorScope};
use remotemedia_runtime::Session;

use crate::codec::JsObjects;
use crate::engine;
use crate::messages::{RunError, SessionInput, SessionOutput};

/// The scope of one session bridge.
pub type SessionScope = ReactorScope<SessionInput, SessionOutput>;

/// One streaming session in the worker.
pub struct Sessions {
    serving: Pin<Box<dyn Future<Output = ()>>>,
}

impl Future for Sessions {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.serving.as_mut().poll(cx)
    }
}

impl Reactor for Sessions {
    type Scope = SessionScope;

    fn create(scope: SessionScope) -> Self {
        Sessions {
            serving: Box::pin(serve(scope)),
        }
    }
}

/// Answers every input of one bridge until it is dropped.
async fn serve(mut scope: SessionScope) {
    let mut session: Option<Session> = None;
    let mut ended: Option<String> = None;
    while let Some(input) = scope.next().await {
        let answer = answer(&mut session, &mut ended, input).await;
        if scope.send(answer).await.is_err() {
            return; // the bridge is gone
        }
    }
}

/// The answer to one input; `ended` says why later steps fail, once one did or the
/// session was closed.
async fn answer(
    session: &mut Option<Session>,
    ended: &mut Option<String>,
    input: SessionInput,
) -> SessionOutput {
    let failed = |e| SessionOutput::Failed(e);
    let closed = |why: &str| SessionOutput::Failed(RunError::SessionClosed(why.into()));
    if let SessionInput::Malformed(why) = input {
        return failed(RunError::Malformed(why));
    }
    if let Some(why) = ended {
        return closed(why);
    }
    match input {
        SessionInput::Open { manifest } => {
            if session.is_some() {
                return closed("the session is already open");
            }
            match engine::open(&manifest).await {
                Ok(s) => {
                    *session = Some(s);
                    SessionOutput::Opened
                }
                Err(e) => failed(e),
            }
        }
        SessionInput::Push(item) => {
            let Some(s) = session.as_mut() else {
                return closed("open the session first");
            };
            match engine::step(s, Some(item)).await {
                Ok(outputs) => SessionOutput::Outputs(outputs),
                Err(e) => {
                    *ended = Some(format!("an earlier step failed: {e}"));
                    failed(e)
                }
            }
        }
        SessionInput::Close => {
            let Some(s) = session.as_mut() else {
                return closed("open the session first");
            };
            *ended = Some("the session was closed".into());
            match engine::step(s, None).await {
                Ok(outputs) => SessionOutput::Closed(outputs),
                Err(e) => failed(e),
            }
        }
        SessionInput::Malformed(why) => failed(RunError::Malformed(why)),
    }
}

/// Registers this worker as the session worker (call it in the worker's script; see
/// `js/sessions.js`).
pub fn register_sessions() {
    ReactorRegistrar::<Sessions>::new()
        .encoding::<JsObjects>()
        .register();
}
