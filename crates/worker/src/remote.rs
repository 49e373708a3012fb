//! Nodes on servers, from the browser: a node with `host` or a `RemotePipelineNode`
//! (`remotemedia_runtime::remote`) holds a WebSocket session on its server
//! (`remotemedia serve`, `/ws`) for the life of its run or session, speaking the JSON
//! form of the session messages ([`remotemedia_runtime::remote_json`]): no protobuf
//! code in this wasm.
//!
//! Each batch of items goes as chunks, one item each, and is answered by the server's
//! results in order; the last step of a run sends its items as the final chunk, so the
//! server's nodes finish as they would here. Failures are `NodeFailure`s with
//! [`RemoteFailure`](remotemedia_runtime::remote::RemoteFailure) (`unavailable`, `timeout`, `closed`, or the server's error kind).
//! A browser is not told why a WebSocket could not open (a wrong token and an origin
//! the server does not allow look the same as no server), so all are `unavailable`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use remotemedia_runtime::manifest::NodeSpec;
use remotemedia_runtime::node::{AsyncNode, LocalFuture, NodeFailure};
use remotemedia_runtime::remote::{RemoteNodes, RemoteTarget, Restart};
use remotemedia_runtime::remote_json::{ClientMessage, ServerMessage};
use remotemedia_runtime::RuntimeData;
use serde_json::Value;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// The provider the worker's executor uses ([`remotemedia_runtime::Executor::with_remote`]).
/// `token` is the page's bearer token for servers whose node gives none (`auth_token`).
#[derive(Clone, Default)]
pub struct WebSocketRemote {
    token: Rc<RefCell<Option<String>>>,
}

impl WebSocketRemote {
    /// Sets (or clears) the token sent to servers whose node gives none.
    pub fn set_token(&self, token: Option<String>) {
        *self.token.borrow_mut() = token.filter(|t| !t.is_empty());
    }
}

impl RemoteNodes for WebSocketRemote {
    fn open<'a>(
        &'a self,
        _spec: &'a NodeSpec,
        mut target: RemoteTarget,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>> {
        if target.token.is_none() {
            target.token = self.token.borrow().clone();
        }
        Box::pin(async move {
            let connection = Connection::open(&target).await?;
            Ok(Box::new(RemoteNode {
                target,
                connection: Some(connection),
                restart: Restart::default(),
            }) as Box<dyn AsyncNode>)
        })
    }
}

/// The WebSocket URL of a server as manifests write it: `ws(s)://` as is; `http(s)://`
/// and `grpc://` become `ws(s)://` on the same host and port, path `/ws`; a bare
/// `host:port` becomes `ws://` (`wss://` when the page is HTTPS). The token goes in the
/// `token` query parameter (browsers cannot set headers on a WebSocket).
pub fn websocket_url(server: &str, token: Option<&str>, secure_page: bool) -> String {
    let (scheme, rest) = if let Some(r) = server.strip_prefix("ws://") {
        ("ws", r)
    } else if let Some(r) = server.strip_prefix("wss://") {
        ("wss", r)
    } else if let Some(r) = server.strip_prefix("https://") {
        ("wss", r)
    } else if let Some(r) = server
        .strip_prefix("http://")
        .or_else(|| server.strip_prefix("grpc://"))
    {
        ("ws", r)
    } else if secure_page {
        ("wss", server)
    } else {
        ("ws", server)
    };
    let is_ws = server.starts_with("ws://") || server.starts_with("wss://");
    let mut url = if is_ws && rest.contains('/') {
        format!("{scheme}://{rest}")
    } else {
        format!("{scheme}://{}/ws", rest.split('/').next().unwrap_or(rest))
    };
    if let Some(token) = token {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("token=");
        url.push_str(&String::from(js_sys::encode_uri_component(token)));
    }
    url
}

/// Resolves after `ms` milliseconds (the worker's `setTimeout`).
fn sleep(ms: f64) -> Promise {
    Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(set_timeout) = set_timeout {
            let _ = set_timeout.call2(&global, &resolve, &JsValue::from_f64(ms));
        }
    })
}

thread_local! {
    /// The open sessions of runs, by the run's request id: a cancel closes them at once
    /// rather than after the server's answer ([`abort`]).
    static RUN_SESSIONS: RefCell<Vec<(u32, std::rc::Weak<Inbox>)>> = const { RefCell::new(Vec::new()) };
}

/// Stops the server sessions of run `request` (its page cancelled it): their waits end
/// now with a failure the executor reports as the cancel, and their sockets close.
pub fn abort(request: u32) {
    RUN_SESSIONS.with(|runs| {
        runs.borrow_mut().retain(|(id, inbox)| {
            let Some(inbox) = inbox.upgrade() else {
                return false;
            };
            if *id != request {
                return true;
            }
            inbox.aborted.set(true);
            inbox.wake();
            false
        });
    });
}

/// What the socket has delivered and not yet been read, and who waits for it.
#[derive(Default)]
struct Inbox {
    messages: RefCell<VecDeque<Result<ServerMessage, String>>>,
    /// Why the socket closed, once it has.
    closed: RefCell<Option<String>>,
    /// Whether its run was cancelled ([`abort`]): a failure then is not one to reconnect.
    aborted: std::cell::Cell<bool>,
    /// Whether it opened.
    opened: RefCell<bool>,
    /// Resolves the wait in progress.
    wake: RefCell<Option<Function>>,
}

impl Inbox {
    fn wake(&self) {
        if let Some(resolve) = self.wake.borrow_mut().take() {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::TRUE);
        }
    }
}

/// One WebSocket session on a server.
struct Connection {
    socket: WebSocket,
    inbox: Rc<Inbox>,
    next_sequence: u64,
    _handlers: Handlers,
}

/// The socket's event handlers (message, close, open, error), kept alive as long as it is.
type Handlers = (
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut(CloseEvent)>,
    Closure<dyn FnMut(Event)>,
    Closure<dyn FnMut(Event)>,
);

/// Why a socket never opened: a browser does not tell a page more.
const REFUSED: &str = "the server refused the connection or is not there (no server, a wrong token, or an origin it does not allow: start it with --cors-origin <this page's origin>)";

impl Drop for Connection {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onopen(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close();
    }
}

impl Connection {
    /// Opens the socket, sends the manifest and waits for `ready`, within the node's
    /// timeout.
    async fn open(target: &RemoteTarget) -> Result<Connection, NodeFailure> {
        let secure = js_sys::Reflect::get(&js_sys::global(), &"location".into())
            .ok()
            .and_then(|l| js_sys::Reflect::get(&l, &"protocol".into()).ok())
            .and_then(|p| p.as_string())
            .is_some_and(|p| p == "https:");
        let url = websocket_url(&target.server, target.token.as_deref(), secure);
        let unavailable = |why: String| target.failure("unavailable", why, None);
        let socket = WebSocket::new(&url).map_err(|e| {
            unavailable(format!(
                "cannot open a WebSocket to {}: {}",
                target.server,
                js_text(&e)
            ))
        })?;
        let inbox = Rc::new(Inbox::default());
        if let Some(run) = crate::request::running_request() {
            RUN_SESSIONS.with(|runs| {
                let mut runs = runs.borrow_mut();
                runs.retain(|(_, inbox)| inbox.strong_count() > 0);
                runs.push((run, Rc::downgrade(&inbox)));
            });
        }
        let on_message = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let message = match event.data().as_string() {
                    Some(text) => ServerMessage::parse(&text),
                    None => Err("the server sent a binary message to a JSON session".into()),
                };
                inbox.messages.borrow_mut().push_back(message);
                inbox.wake();
            })
        };
        let on_close = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let why = if *inbox.opened.borrow() {
                    format!("the connection closed (code {})", event.code())
                } else {
                    REFUSED.to_string()
                };
                inbox.closed.borrow_mut().get_or_insert(why);
                inbox.wake();
            })
        };
        // WebKit fires only `error`, never `close`, for a connection refused.
        let on_error = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let why = if *inbox.opened.borrow() {
                    "the connection failed".to_string()
                } else {
                    REFUSED.to_string()
                };
                inbox.closed.borrow_mut().get_or_insert(why);
                inbox.wake();
            })
        };
        let on_open = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(Event)>::new(move |_| {
                *inbox.opened.borrow_mut() = true;
                inbox.wake();
            })
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let connection = Connection {
            socket,
            inbox,
            next_sequence: 0,
            _handlers: (on_message, on_close, on_open, on_error),
        };
        let deadline = js_sys::Date::now() + target.timeout_ms as f64;
        while !*connection.inbox.opened.borrow() {
            if connection.inbox.aborted.get() {
                return Err(cancelled(target));
            }
            if let Some(why) = connection.inbox.closed.borrow().clone() {
                return Err(unavailable(format!("{}: {why}", target.server)));
            }
            if !connection.wait(deadline).await {
                return Err(timeout(target, "opening the session"));
            }
        }
        connection.send(
            target,
            &ClientMessage::Init {
                manifest: target.manifest.clone(),
            },
        )?;
        match connection
            .next(target, deadline, "opening the session")
            .await?
        {
            ServerMessage::Ready { .. } => Ok(connection),
            ServerMessage::Error { message, error } => Err(server_error(target, message, error)),
            other => Err(target.failure(
                "closed",
                format!("{} answered {other:?} to the manifest", target.server),
                None,
            )),
        }
    }

    /// Waits for the socket to deliver something or close, until `deadline` (ms since
    /// the epoch). False when the deadline came first.
    async fn wait(&self, deadline: f64) -> bool {
        let inbox = self.inbox.clone();
        let arrived = Promise::new(&mut |resolve, _| {
            *inbox.wake.borrow_mut() = Some(resolve);
        });
        let left = (deadline - js_sys::Date::now()).max(0.0);
        let race = Promise::race(&Array::of2(&arrived, &sleep(left)));
        let woke = JsFuture::from(race).await.is_ok_and(|v| v.is_truthy());
        self.inbox.wake.borrow_mut().take();
        woke
    }

    fn send(&self, target: &RemoteTarget, message: &ClientMessage) -> Result<(), NodeFailure> {
        self.socket.send_with_str(&message.to_text()).map_err(|e| {
            target.failure(
                "unavailable",
                format!("cannot send to {}: {}", target.server, js_text(&e)),
                None,
            )
        })
    }

    /// The next message, by `deadline`.
    async fn next(
        &self,
        target: &RemoteTarget,
        deadline: f64,
        doing: &str,
    ) -> Result<ServerMessage, NodeFailure> {
        loop {
            if self.inbox.aborted.get() {
                return Err(cancelled(target));
            }
            if let Some(message) = self.inbox.messages.borrow_mut().pop_front() {
                return message.map_err(|e| target.failure("closed", e, None));
            }
            if let Some(why) = self.inbox.closed.borrow().clone() {
                return Err(target.failure(
                    "unavailable",
                    format!("{}: {why}", target.server),
                    None,
                ));
            }
            if !self.wait(deadline).await {
                return Err(timeout(target, doing));
            }
        }
    }

    /// Sends `items` as chunks (the last one `final` with `last`), then collects outputs
    /// up to the last chunk's result, or, with `last`, up to `closed`.
    async fn exchange(
        &mut self,
        target: &RemoteTarget,
        items: Vec<RuntimeData>,
        last: bool,
    ) -> Result<Vec<RuntimeData>, NodeFailure> {
        let count = items.len();
        if count == 0 && last {
            self.send(target, &ClientMessage::Close)?;
        }
        for (i, item) in items.into_iter().enumerate() {
            let message = ClientMessage::Chunk {
                sequence: self.next_sequence,
                item,
                last: last && i + 1 == count,
            };
            self.next_sequence += 1;
            self.send(target, &message)?;
        }
        if count == 0 && !last {
            return Ok(Vec::new());
        }
        let wanted = self.next_sequence.saturating_sub(1);
        let deadline = js_sys::Date::now() + target.timeout_ms as f64;
        let mut outputs = Vec::new();
        loop {
            match self.next(target, deadline, "a chunk").await? {
                ServerMessage::Result {
                    sequence,
                    outputs: out,
                } => {
                    outputs.extend(out.into_iter().map(|(_, item)| item));
                    if !last && sequence >= wanted {
                        return Ok(outputs);
                    }
                }
                ServerMessage::Error { message, error } => {
                    return Err(server_error(target, message, error))
                }
                ServerMessage::Closed { reason } if !last => {
                    return Err(target.failure(
                        "closed",
                        format!("{} closed the session: {reason}", target.server),
                        None,
                    ))
                }
                ServerMessage::Closed { .. } => return Ok(outputs),
                ServerMessage::Ready { .. } | ServerMessage::Metrics(_) => {}
            }
        }
    }
}

/// The failure of a wait its run's cancel ended ([`abort`]): not one to reconnect after.
fn cancelled(target: &RemoteTarget) -> NodeFailure {
    target.failure("cancelled", "the run was cancelled".into(), None)
}

fn timeout(target: &RemoteTarget, doing: &str) -> NodeFailure {
    target.failure(
        "timeout",
        format!(
            "{doing} took longer than {} ms on {}",
            target.timeout_ms, target.server
        ),
        None,
    )
}

/// The server's error as a failure carrying its error JSON (`code`: its kind).
fn server_error(target: &RemoteTarget, message: String, error: Value) -> NodeFailure {
    let code = error["kind"].as_str().unwrap_or("error").to_owned();
    target.failure(&code, message, Some(error))
}

fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// The node the executor holds.
struct RemoteNode {
    target: RemoteTarget,
    connection: Option<Connection>,
    restart: Restart,
}

impl RemoteNode {
    /// [`Connection::exchange`], opening a new session when the connection broke, up to
    /// `reconnect` times.
    async fn call(
        &mut self,
        items: Vec<RuntimeData>,
        last: bool,
    ) -> Result<Vec<RuntimeData>, NodeFailure> {
        let mut attempts = 0;
        let mut pending = Some(items);
        loop {
            let items = pending.take().unwrap_or_default();
            // A copy to send again only while a reconnect is left.
            let again = (attempts < self.target.reconnect).then(|| items.clone());
            let connection = match self.connection.as_mut() {
                Some(c) => c,
                None if last && items.is_empty() => return Ok(Vec::new()),
                None => self
                    .connection
                    .insert(Connection::open(&self.target).await?),
            };
            match connection.exchange(&self.target, items, last).await {
                Ok(mut out) => {
                    if last {
                        self.connection = None;
                    }
                    self.restart.mark(&mut out);
                    return Ok(out);
                }
                Err(e) => {
                    self.connection = None;
                    if e.is_broken_connection() && again.is_some() {
                        attempts += 1;
                        self.restart.reconnected();
                        pending = again;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }
}

impl AsyncNode for RemoteNode {
    fn process(
        &mut self,
        inputs: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(self.call(inputs, false))
    }

    fn flush(&mut self) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(self.call(Vec::new(), true))
    }

    fn finish(
        &mut self,
        items: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(self.call(items, true))
    }
}
