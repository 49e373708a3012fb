//! Python nodes through the Python worker.
//!
//! The worker script hands [`WorkerRuntime`](crate::WorkerRuntime) the `MessagePort`
//! of a channel to the Pyodide worker (no main-thread hop). Over it go
//! `{id, packages: [...]}` (load the Python packages a manifest asks for, before its
//! nodes are created) and `{id, request: "<json>", op, instance?, run?}` (bridge requests
//! of `remotemedia_runtime::python_protocol`, items batched per call; `op` and `instance`
//! repeat the request's own, for the host's instance tracking; `run` is the page's id of
//! the run they serve); each is answered by `{id, response: "<json>", created?}`.
//!
//! Both carry `scope` when the manifest has inline Python (`python.modules`): the
//! SHA-256 of its modules. The Python worker gives each scope an interpreter of its own
//! (a nested worker), so one manifest's Python cannot change what another's runs; a
//! node instance's later requests go to the interpreter that made it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Function, Promise};
use remotemedia_runtime::manifest::{Manifest, NodeSpec};
use remotemedia_runtime::node::{AsyncNode, ExternalNodes, LocalFuture, NodeFailure};
use remotemedia_runtime::python_protocol as protocol;
use remotemedia_runtime::RuntimeData;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, MessagePort};

/// A message to the Python worker (the SDK's `PythonRequest`, js-sdk/src/protocol/python.ts).
#[derive(Serialize)]
#[serde(untagged)]
enum PythonRequest {
    Request {
        id: u32,
        request: String,
        /// The request's op and node instance, as fields the Python host reads to track
        /// instances without parsing `request`.
        op: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        instance: Option<u64>,
        /// The page's id of the run this request serves (none for releases), so that a
        /// cancelled run's Python work can be interrupted or skipped.
        #[serde(skip_serializing_if = "Option::is_none")]
        run: Option<u32>,
        /// The interpreter that serves it (none: the one for manifests without modules).
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<Rc<str>>,
    },
    Packages {
        id: u32,
        packages: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<Rc<str>>,
    },
}

/// The interpreter scope of `manifest` ([`protocol::scope_of`]), shared cheaply.
fn scope_of(manifest: &Manifest) -> Option<Rc<str>> {
    protocol::scope_of(manifest).map(Rc::from)
}

/// The Python worker's answer to the request with the same id (the SDK's `PythonResponse`).
#[derive(Deserialize)]
struct PythonResponse {
    id: u32,
    response: String,
}

/// The channel to the Python worker: requests by id, answers matched back by id.
struct Channel {
    port: MessagePort,
    next_id: Cell<u32>,
    /// `(resolve, reject)` of each request in flight.
    waiting: RefCell<HashMap<u32, (Function, Function)>>,
    /// Why the channel was closed, if it was: later requests fail at once with it.
    closed: RefCell<Option<String>>,
    /// Kept alive as long as the port listens.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    fn new(port: MessagePort) -> Rc<Channel> {
        Rc::new_cyclic(|weak: &std::rc::Weak<Channel>| {
            let weak = weak.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                // An answer that cannot be read is dropped: nothing waits for it by id.
                let Ok(answer) = serde_wasm_bindgen::from_value::<PythonResponse>(event.data())
                else {
                    return;
                };
                if let Some(channel) = weak.upgrade() {
                    let resolve = channel.waiting.borrow_mut().remove(&answer.id);
                    if let Some((resolve, _)) = resolve {
                        let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(&answer.response));
                    }
                }
            });
            port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            Channel {
                port,
                next_id: Cell::new(1),
                waiting: RefCell::default(),
                closed: RefCell::new(None),
                _on_message: on_message,
            }
        })
    }

    /// Posts `message(id)`; resolves with the answer's JSON text.
    fn ask(&self, message: impl FnOnce(u32) -> PythonRequest) -> Promise {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        if let Some(reason) = self.closed.borrow().as_deref() {
            return Promise::reject(&js_sys::Error::new(reason));
        }
        let body = serde_wasm_bindgen::to_value(&message(id));
        Promise::new(&mut |resolve, reject| match &body {
            Ok(body) => {
                self.waiting
                    .borrow_mut()
                    .insert(id, (resolve, reject.clone()));
                if let Err(e) = self.port.post_message(body) {
                    self.waiting.borrow_mut().remove(&id);
                    let _ = reject.call1(&JsValue::NULL, &e);
                }
            }
            Err(e) => {
                let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&e.to_string()));
            }
        })
    }

    /// Rejects every request in flight, and every later one, with `reason` (the Python
    /// worker is gone).
    fn fail_all(&self, reason: &str) {
        *self.closed.borrow_mut() = Some(reason.to_string());
        self.port.set_onmessage(None);
        let waiting: Vec<_> = self.waiting.borrow_mut().drain().collect();
        for (_, (_, reject)) in waiting {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new(reason));
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.port.set_onmessage(None);
    }
}

/// The Python worker as an [`ExternalNodes`] provider.
#[derive(Clone)]
pub struct PythonNodes {
    channel: Rc<Channel>,
}

impl PythonNodes {
    /// Talks to the Python worker over `port` (it takes over the port's `onmessage`).
    pub fn new(port: MessagePort) -> Self {
        PythonNodes {
            channel: Channel::new(port),
        }
    }

    /// Fails every Python call in flight with `reason`: for when the Python worker was
    /// stopped (a call that never returns, a crash) and replaced.
    pub fn fail_pending(&self, reason: &str) {
        self.channel.fail_all(reason);
    }

    /// Loads the manifest's Python packages in the interpreter of `scope`.
    async fn load_packages(
        &self,
        packages: &[String],
        scope: Option<Rc<str>>,
    ) -> Result<Value, NodeFailure> {
        let packages = packages.to_vec();
        answer(self.channel.ask(|id| PythonRequest::Packages {
            id,
            packages,
            scope,
        }))
        .await
    }
}

/// Sends one node request (JSON text) to the interpreter of `scope` and decodes the answer.
async fn request(
    channel: &Channel,
    scope: &Option<Rc<str>>,
    body: Value,
) -> Result<Value, NodeFailure> {
    let request = body.to_string();
    let op = body["op"].as_str().unwrap_or_default().to_string();
    let instance = body["instance"].as_u64();
    let run = crate::request::running_request();
    let scope = scope.clone();
    answer(channel.ask(|id| PythonRequest::Request {
        id,
        request,
        op,
        instance,
        run,
        scope,
    }))
    .await
}

/// Awaits the Python worker's answer and decodes its JSON; `{"error": ...}` answers and
/// transport failures become a [`NodeFailure`].
async fn answer(promise: Promise) -> Result<Value, NodeFailure> {
    let text = JsFuture::from(promise)
        .await
        .map_err(|e| transport_failure(&e))?;
    let text = text
        .as_string()
        .ok_or_else(|| NodeFailure::new("the Python worker answered with a non-string"))?;
    protocol::read_answer(&text)
}

fn transport_failure(err: &JsValue) -> NodeFailure {
    let text = err
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "unknown error".into());
    NodeFailure::new(format!("the Python worker could not be reached: {text}"))
}

impl ExternalNodes for PythonNodes {
    fn language(&self) -> &str {
        "python"
    }

    fn node_types(&self) -> Vec<String> {
        remotemedia_runtime::registry::python_builtin_names()
    }

    fn create<'a>(
        &'a self,
        manifest: &'a Manifest,
        node: &'a NodeSpec,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>> {
        Box::pin(async move {
            let scope = scope_of(manifest);
            let packages = manifest.python_packages();
            if !packages.is_empty() {
                self.load_packages(packages, scope.clone()).await?;
            }
            let answer = request(
                &self.channel,
                &scope,
                protocol::create_request(manifest, node),
            )
            .await?;
            let instance = protocol::instance_of(&answer)?;
            Ok(Box::new(PythonNode {
                channel: self.channel.clone(),
                scope,
                instance,
                flushed: false,
            }) as Box<dyn AsyncNode>)
        })
    }
}

/// One Python node instance living in the Python worker. If a run ends without
/// flushing it (an error elsewhere, a cancel), dropping it tells the Python worker to
/// release the instance.
pub struct PythonNode {
    channel: Rc<Channel>,
    /// The interpreter that holds the instance.
    scope: Option<Rc<str>>,
    instance: u64,
    flushed: bool,
}

impl Drop for PythonNode {
    fn drop(&mut self) {
        if !self.flushed {
            // Fire and forget: nothing waits for a release (its answer is dropped).
            let request = protocol::release_request(self.instance).to_string();
            // Untagged: a release must run even for a cancelled run.
            let scope = self.scope.clone();
            let _ = self.channel.ask(|id| PythonRequest::Request {
                id,
                request,
                op: "release".into(),
                instance: Some(self.instance),
                run: None,
                scope,
            });
        }
    }
}

impl AsyncNode for PythonNode {
    fn process(
        &mut self,
        inputs: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move {
            let body = protocol::process_request(self.instance, &inputs);
            protocol::items_of(&request(&self.channel, &self.scope, body).await?)
        })
    }

    fn flush(&mut self) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move {
            self.flushed = true;
            let body = protocol::flush_request(self.instance);
            protocol::items_of(&request(&self.channel, &self.scope, body).await?)
        })
    }
}
