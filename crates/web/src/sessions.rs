//! The session worker: a gloo-worker reactor. Each bridge is one session: `Open`, then
//! `Push`es, then `Close`, each answered in order. Closing, or dropping the bridge, ends
//! the session and frees its node state; `Count` says how many the worker holds.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{SinkExt, StreamExt};
use gloo_worker::reactor::{Reactor, ReactorRegistrar, ReactorScope};
use remotemedia_runtime::Session;

use crate::codec::JsObjects;
use crate::engine;
use crate::messages::{RunError, SessionInput, SessionOutput};

thread_local! {
    /// Sessions this worker holds: opened, and neither closed nor dropped.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// A session, counted in [`HELD`] while it lives.
struct Held(Session);

impl Held {
    fn new(session: Session) -> Held {
        HELD.with(|n| n.set(n.get() + 1));
        Held(session)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

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

/// Answers every input of one bridge until it is dropped (which drops its session).
async fn serve(mut scope: SessionScope) {
    let mut session: Option<Held> = None;
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
    session: &mut Option<Held>,
    ended: &mut Option<String>,
    input: SessionInput,
) -> SessionOutput {
    let failed = |e| SessionOutput::Failed(e);
    let closed = |why: &str| SessionOutput::Failed(RunError::SessionClosed(why.into()));
    let step = match input {
        SessionInput::Malformed(why) => return failed(RunError::Malformed(why)),
        SessionInput::Count => return SessionOutput::Count(HELD.with(Cell::get)),
        _ if ended.is_some() => return closed(ended.as_deref().unwrap_or_default()),
        SessionInput::Open { manifest } => {
            if session.is_some() {
                return closed("the session is already open");
            }
            return match engine::open(&manifest).await {
                Ok(s) => {
                    *session = Some(Held::new(s));
                    SessionOutput::Opened
                }
                Err(e) => failed(e),
            };
        }
        SessionInput::Push(item) => Some(item),
        SessionInput::Close => None,
    };
    let closing = step.is_none();
    // Closing takes the session out: it is freed here, whatever the last step gives.
    let mut taken = if closing { session.take() } else { None };
    let Some(Held(s)) = taken.as_mut().or(session.as_mut()) else {
        return closed("open the session first");
    };
    match engine::step(s, step).await {
        Ok(outputs) if closing => {
            *ended = Some("the session was closed".into());
            SessionOutput::Closed(outputs)
        }
        Ok(outputs) => SessionOutput::Outputs(outputs),
        Err(e) => {
            *ended = Some(if closing {
                "the session was closed".into()
            } else {
                format!("an earlier step failed: {e}")
            });
            failed(e)
        }
    }
}

/// Registers this worker as the session worker (call it in the worker's script; see
/// `js/sessions.js`).
pub fn register_sessions() {
    ReactorRegistrar::<Sessions>::new()
        .encoding::<JsObjects>()
        .register();
}
