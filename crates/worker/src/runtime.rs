//! [`WorkerRuntime`]: the executor as the worker script sees it.
//!
//! Every method takes and returns JSON text (manifests, items in wire form, results
//! of `docs/execution.md`), so nothing here can fail to decode a message: bad input becomes an
//! error JSON `{"status": "error", "error": {kind, message, ...}}`, never a panic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use remotemedia_runtime::executor::{CancelFlag, Executor, Output, RunError, Session};
use remotemedia_runtime::{wire, Manifest, NodeRegistry, RuntimeData};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::python::{PythonNodes, PYTHON_BUILTINS};

/// The executor inside one worker: validation, batch runs, sessions.
#[wasm_bindgen]
pub struct WorkerRuntime {
    executor: Executor,
    manifests: ManifestCache,
    sessions: Rc<RefCell<HashMap<u32, Session>>>,
    cancels: Rc<RefCell<HashMap<u32, CancelFlag>>>,
    next_session: u32,
}

impl Default for WorkerRuntime {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl WorkerRuntime {
    /// A runtime with the built-in Rust nodes and no Python worker yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WorkerRuntime {
        WorkerRuntime {
            executor: Executor::new(NodeRegistry::builtin()).with_clock(crate::clock::now_ms),
            manifests: ManifestCache::default(),
            sessions: Rc::default(),
            cancels: Rc::default(),
            next_session: 1,
        }
    }

    /// Connects the Python worker: `call(requestJson) -> Promise<responseJson>` and
    /// `loadPackages(names) -> Promise<responseJson>` (see [`crate::python`]). Runs
    /// started afterwards can use Python nodes.
    #[wasm_bindgen(js_name = setPython)]
    pub fn set_python(&mut self, call: Function, load_packages: Function) {
        self.executor = self
            .executor
            .clone()
            .with_external(Rc::new(PythonNodes::new(call, load_packages)));
    }

    /// `{valid, errors, warnings}` for a manifest given as JSON text.
    pub fn validate(&self, manifest_json: &str) -> String {
        validate_manifest(manifest_json)
    }

    /// Batch run. `inputs_json` is a JSON array of items in wire form. Resolves with
    /// the result JSON text; never rejects: failures resolve with an error JSON.
    /// `run_id` lets [`WorkerRuntime::cancel`] stop it at the next item boundary.
    pub fn run(&self, run_id: u32, manifest_json: String, inputs_json: String) -> Promise {
        let executor = self.executor.clone();
        let manifests = self.manifests.clone();
        let cancels = self.cancels.clone();
        let cancel = CancelFlag::new();
        cancels.borrow_mut().insert(run_id, cancel.clone());
        future_to_promise(async move {
            let outcome = async {
                let manifest = manifests.parse(&executor, &manifest_json)?;
                let inputs = parse_items(&inputs_json)?;
                let result = executor
                    .run(&manifest, inputs, &cancel)
                    .await
                    .map_err(|e| e.to_json())?;
                Ok::<Value, Value>(result.to_json())
            }
            .await;
            cancels.borrow_mut().remove(&run_id);
            Ok(JsValue::from_str(
                &outcome.unwrap_or_else(|e| e).to_string(),
            ))
        })
    }

    /// Batch run with binary payloads as buffers instead of base64: envelopes in
    /// `inputs_json` may have `"data": {"$buffer": n}`, meaning `buffers[n]` (a
    /// `Uint8Array`, copied once into wasm memory). Resolves with `{json, buffers}`:
    /// the result JSON, whose envelopes refer the same way to the returned
    /// `Uint8Array`s (fresh JS buffers the worker script transfers to the page).
    #[wasm_bindgen(js_name = runTransfer)]
    pub fn run_transfer(
        &self,
        run_id: u32,
        manifest_json: String,
        inputs_json: String,
        buffers: Array,
    ) -> Promise {
        let executor = self.executor.clone();
        let manifests = self.manifests.clone();
        let cancels = self.cancels.clone();
        let cancel = CancelFlag::new();
        cancels.borrow_mut().insert(run_id, cancel.clone());
        let mut inputs: Vec<Option<Vec<u8>>> = buffers
            .iter()
            .map(|b| Some(Uint8Array::new(&b).to_vec()))
            .collect();
        future_to_promise(async move {
            let out_buffers = Array::new();
            let outcome = async {
                let manifest = manifests.parse(&executor, &manifest_json)?;
                let items = parse_items_with(&inputs_json, &mut inputs)?;
                let result = executor
                    .run(&manifest, items, &cancel)
                    .await
                    .map_err(|e| e.to_json())?;
                Ok::<Value, Value>(result.to_json_with(&mut |bytes| {
                    out_buffers.push(&Uint8Array::from(bytes));
                    json!({ "$buffer": out_buffers.length() - 1 })
                }))
            }
            .await;
            cancels.borrow_mut().remove(&run_id);
            let answer = Object::new();
            let json = outcome.unwrap_or_else(|e| e).to_string();
            Reflect::set(&answer, &"json".into(), &JsValue::from_str(&json))?;
            Reflect::set(&answer, &"buffers".into(), &out_buffers)?;
            Ok(answer.into())
        })
    }

    /// Asks the run `run_id` to stop at its next item boundary (a run only yields
    /// between Python calls; the SDK terminates a worker that does not answer).
    pub fn cancel(&self, run_id: u32) {
        if let Some(flag) = self.cancels.borrow().get(&run_id) {
            flag.cancel();
        }
    }

    /// Opens a session; resolves with `{"status": "success", "session": id}` or an
    /// error JSON.
    pub fn open(&mut self, manifest_json: String) -> Promise {
        let id = self.next_session;
        self.next_session += 1;
        let executor = self.executor.clone();
        let manifests = self.manifests.clone();
        let sessions = self.sessions.clone();
        future_to_promise(async move {
            let outcome = async {
                let manifest = manifests.parse(&executor, &manifest_json)?;
                let session = executor.open(&manifest).await.map_err(|e| e.to_json())?;
                sessions.borrow_mut().insert(id, session);
                Ok::<Value, Value>(json!({"status": "success", "session": id}))
            }
            .await;
            Ok(JsValue::from_str(
                &outcome.unwrap_or_else(|e| e).to_string(),
            ))
        })
    }

    /// Pushes one item (wire JSON) into a session; resolves with
    /// `{"status": "success", "outputs": [{node_id, data}]}` or an error JSON.
    pub fn push(&self, session: u32, item_json: String) -> Promise {
        self.session_step(session, Some(item_json))
    }

    /// Flushes and closes a session; resolves like [`WorkerRuntime::push`].
    pub fn close(&self, session: u32) -> Promise {
        self.session_step(session, None)
    }

    fn session_step(&self, id: u32, item_json: Option<String>) -> Promise {
        let sessions = self.sessions.clone();
        future_to_promise(async move {
            let outcome = async {
                // Taken out while it runs: a push must not overlap another on it.
                let mut session = sessions.borrow_mut().remove(&id).ok_or_else(|| {
                    RunError::SessionClosed(format!("no open session {id}")).to_json()
                })?;
                let cancel = CancelFlag::new();
                let step = match &item_json {
                    Some(text) => match parse_item(text) {
                        Ok(item) => session.push(item, &cancel).await.map_err(|e| e.to_json()),
                        Err(e) => Err(e),
                    },
                    None => session.close(&cancel).await.map_err(|e| e.to_json()),
                };
                if item_json.is_some() && !session.is_closed() {
                    sessions.borrow_mut().insert(id, session);
                }
                Ok::<Value, Value>(json!({"status": "success", "outputs": outputs_json(&step?)}))
            }
            .await;
            Ok(JsValue::from_str(
                &outcome.unwrap_or_else(|e| e).to_string(),
            ))
        })
    }
}

/// Validates a manifest (JSON text) against the Rust nodes and the Python
/// built-ins: `{valid, errors: [{path, message}], warnings}` as JSON text. Also
/// exported for the main thread, where the SDK's `validate` is synchronous.
#[wasm_bindgen(js_name = validateManifest)]
pub fn validate_manifest(manifest_json: &str) -> String {
    let registry = NodeRegistry::builtin();
    let python: Vec<String> = PYTHON_BUILTINS.iter().map(|s| s.to_string()).collect();
    let known = remotemedia_runtime::validate::KnownTypes {
        rust: &registry,
        python: &python,
    };
    let (_, report) = remotemedia_runtime::validate::validate_str(manifest_json, known);
    serde_json::to_string(&report).unwrap_or_else(|_| "{}".into())
}

fn error_json(kind: &str, message: String) -> Value {
    json!({"status": "error", "error": {"kind": kind, "message": message}})
}

/// Validated manifests by their JSON text: runs usually repeat a few manifests, and
/// validation is most of a small run's cost. Bounded; cleared when full.
#[derive(Clone, Default)]
struct ManifestCache(Rc<RefCell<HashMap<String, Rc<Manifest>>>>);

impl ManifestCache {
    const CAPACITY: usize = 64;

    fn parse(&self, executor: &Executor, text: &str) -> Result<Rc<Manifest>, Value> {
        if let Some(m) = self.0.borrow().get(text) {
            return Ok(m.clone());
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| error_json("manifest", format!("manifest is not valid JSON: {e}")))?;
        let manifest = Rc::new(executor.parse(&value).map_err(|e| e.to_json())?);
        let mut cache = self.0.borrow_mut();
        if cache.len() >= Self::CAPACITY {
            cache.clear();
        }
        cache.insert(text.to_string(), manifest.clone());
        Ok(manifest)
    }
}

fn parse_items(text: &str) -> Result<Vec<RuntimeData>, Value> {
    parse_items_with(text, &mut Vec::new())
}

/// Items in wire form whose payloads are base64 or `{"$buffer": n}` references into
/// `buffers` (each taken once).
fn parse_items_with(
    text: &str,
    buffers: &mut [Option<Vec<u8>>],
) -> Result<Vec<RuntimeData>, Value> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| error_json("input", format!("inputs are not valid JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(error_json("input", "inputs must be a JSON array".into()));
    };
    let mut payload = |data: &Value, path: &str| match data.get("$buffer").and_then(Value::as_u64) {
        Some(n) => buffers
            .get_mut(n as usize)
            .and_then(Option::take)
            .ok_or_else(|| wire::WireError {
                path: path.to_string(),
                message: format!("no transferred buffer {n} (or it was used twice)"),
            }),
        None => wire::base64_payload(data, path),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            wire::decode_with(item, &mut payload).map_err(|e| {
                error_json(
                    "input",
                    format!(
                        "input {}",
                        e.to_string().replacen('$', &format!("$[{i}]"), 1)
                    ),
                )
            })
        })
        .collect()
}

fn parse_item(text: &str) -> Result<RuntimeData, Value> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| error_json("input", format!("item is not valid JSON: {e}")))?;
    wire::decode(&value).map_err(|e| error_json("input", format!("item {e}")))
}

fn outputs_json(outputs: &[Output]) -> Value {
    outputs
        .iter()
        .map(|o| json!({"node_id": o.node_id, "data": wire::encode(&o.data)}))
        .collect()
}
