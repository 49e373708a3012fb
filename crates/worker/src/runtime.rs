//! [`WorkerRuntime`]: the executor as the worker script sees it.
//!
//! Every method takes and returns plain JS values (manifests, items in wire form, the
//! results of `docs/execution.md`), read and written through serde-wasm-bindgen
//! ([`crate::boundary`]). Nothing here can fail on a message: bad input becomes an error
//! answer `{"status": "error", "error": {kind, message, ...}}`, never a panic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use remotemedia_runtime::executor::{CancelFlag, Executor, Output, RunError, Session};
use remotemedia_runtime::progress::Observer;
use remotemedia_runtime::{wire, Limits, Manifest, NodeRegistry, RuntimeData};
use serde::Serialize;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use crate::boundary::{from_js, key, to_js};
use crate::python::PythonNodes;
use crate::remote::WebSocketRemote;
use crate::request::{running_request, tagged};

/// The least time between two progress reports of a run, in ms: often enough for a
/// progress bar, rare enough to cost nothing next to the run.
pub const PROGRESS_INTERVAL_MS: f64 = 100.0;

/// The executor inside one worker: validation, batch runs, sessions.
#[wasm_bindgen]
pub struct WorkerRuntime {
    executor: Executor,
    /// The Python worker's channel, if connected.
    python: Option<PythonNodes>,
    /// The transport to servers (nodes with `host`, `RemotePipelineNode`s).
    remote: WebSocketRemote,
    manifests: ManifestCache,
    sessions: Rc<RefCell<HashMap<u32, Session>>>,
    cancels: Rc<RefCell<HashMap<u32, CancelFlag>>>,
    next_session: u32,
}

impl Default for WorkerRuntime {
    fn default() -> Self {
        Self::with_limits(Limits::default())
    }
}

impl WorkerRuntime {
    /// A runtime with the built-in Rust nodes under `limits`, and no Python worker yet.
    /// Installs the panic hook ([`crate::panic`]).
    pub fn with_limits(limits: Limits) -> WorkerRuntime {
        crate::panic::install(None);
        let remote = WebSocketRemote::default();
        WorkerRuntime {
            executor: Executor::new(registry())
                .with_limits(limits)
                .with_remote(Rc::new(remote.clone())),
            python: None,
            remote,
            manifests: ManifestCache::default(),
            sessions: Rc::default(),
            cancels: Rc::default(),
            next_session: 1,
        }
    }
}

#[wasm_bindgen]
impl WorkerRuntime {
    /// [`WorkerRuntime::with_limits`] from JS: `limits` is the SDK's
    /// `{maxFrames?, maxOutputValues?}`, `undefined` for the defaults (see
    /// [`crate::boundary::limits_from_js`]).
    ///
    /// Errors (thrown): limits out of range, naming the field.
    #[wasm_bindgen(constructor)]
    pub fn new(limits: JsValue) -> Result<WorkerRuntime, JsError> {
        let limits = crate::boundary::limits_from_js(limits).map_err(|e| JsError::new(&e))?;
        Ok(WorkerRuntime::with_limits(limits))
    }

    /// Calls `report({message, runId, nodeId, nodeType})` before the trap of a panic:
    /// its message and location (`panicked at src/x.rs:12:5: ...`), the run being
    /// computed and the Rust node whose code panicked, when known. The worker script
    /// posts it to the page.
    #[wasm_bindgen(js_name = onPanic)]
    pub fn on_panic(&self, report: Function) {
        crate::panic::install(Some(Box::new(move |text| {
            let node = remotemedia_runtime::executor::node_running();
            let info = json!({
                "message": text,
                "runId": running_request(),
                "nodeId": node.as_ref().map(|n| &n.0),
                "nodeType": node.as_ref().map(|n| &n.1),
            });
            let _ = report.call1(&JsValue::NULL, &to_js(&info));
        })));
    }

    /// Connects the Python worker through `port`, one end of a `MessageChannel` whose
    /// other end the Python worker serves (see [`crate::python`]). Runs started
    /// afterwards can use Python nodes. Connecting a new Python worker (the old one was
    /// stopped) fails the Python calls still waiting on the old one, so their runs end
    /// with a node error instead of waiting forever.
    #[wasm_bindgen(js_name = setPython)]
    pub fn set_python(&mut self, port: web_sys::MessagePort) {
        if let Some(old) = self.python.take() {
            old.fail_pending("the Python worker was restarted (a Python call did not return in time, or it crashed); this call was lost");
        }
        let python = PythonNodes::new(port);
        self.executor = self.executor.clone().with_external(Rc::new(python.clone()));
        self.python = Some(python);
    }

    /// Sets the bearer token sent to servers whose node gives none (the SDK's
    /// `remoteToken` option); `undefined` clears it.
    #[wasm_bindgen(js_name = setRemoteToken)]
    pub fn set_remote_token(&self, token: Option<String>) {
        self.remote.set_token(token);
    }

    /// Batch run of manifest `manifest_id` (see [`WorkerRuntime::open`] for how manifests
    /// are named). `inputs` is an array of items in wire form. Resolves with the result
    /// object; never rejects: failures resolve with an error answer. `run_id` lets
    /// [`WorkerRuntime::cancel`] stop it at the next item boundary. `progress`, if
    /// given, is called with progress reports while it runs (at most every
    /// [`PROGRESS_INTERVAL_MS`], and once at the end; see
    /// `remotemedia_runtime::progress::Observer` for their fields).
    pub fn run(
        &self,
        run_id: u32,
        manifest_id: u32,
        manifest: JsValue,
        inputs: JsValue,
        progress: Option<Function>,
    ) -> Promise {
        self.start_run(
            run_id,
            manifest_id,
            manifest,
            inputs,
            Payloads::Inline,
            Vec::new(),
            progress,
        )
    }

    /// Batch run with binary payloads as buffers instead of base64: envelopes in
    /// `inputs` may have `"data": {"$buffer": n}`, meaning `buffers[n]` (a
    /// `Uint8Array`, copied once into wasm memory). Resolves with `{result, buffers}`:
    /// the result object, whose envelopes refer the same way to the returned
    /// `Uint8Array`s (fresh JS buffers the worker script transfers to the page).
    #[wasm_bindgen(js_name = runTransfer)]
    pub fn run_transfer(
        &self,
        run_id: u32,
        manifest_id: u32,
        manifest: JsValue,
        inputs: JsValue,
        buffers: Array,
        progress: Option<Function>,
    ) -> Promise {
        // Views as given (`Uint8Array::new` of a Uint8Array would copy it); an
        // ArrayBuffer gets a view over it.
        let given: Vec<Uint8Array> = buffers
            .iter()
            .map(|b| {
                b.dyn_into::<Uint8Array>()
                    .unwrap_or_else(|b| Uint8Array::new(&b))
            })
            .collect();
        // Once copied in, the given buffers carry outputs back: writing into memory the
        // page already touched is several times faster than filling a fresh buffer.
        let payloads = Payloads::buffers(given.clone());
        self.start_run(
            run_id,
            manifest_id,
            manifest,
            inputs,
            payloads,
            given,
            progress,
        )
    }

    /// The one batch run of [`WorkerRuntime::run`] and [`WorkerRuntime::run_transfer`]:
    /// inputs may refer to `given` buffers; outputs' payloads go to `payloads`.
    #[allow(clippy::too_many_arguments)]
    fn start_run(
        &self,
        run_id: u32,
        manifest_id: u32,
        manifest: JsValue,
        inputs: JsValue,
        mut payloads: Payloads,
        given: Vec<Uint8Array>,
        progress: Option<Function>,
    ) -> Promise {
        // A report the page's callback cannot take is dropped: progress never fails a run.
        let observer = progress.map(|f| -> (Observer, f64) {
            let report = move |r: &Value| drop(f.call1(&JsValue::NULL, &to_js(r)));
            (Box::new(report), PROGRESS_INTERVAL_MS)
        });
        let executor = self.executor.clone();
        let cancels = self.cancels.clone();
        let cancel = CancelFlag::new();
        cancels.borrow_mut().insert(run_id, cancel.clone());
        let manifest = self
            .manifests
            .get_or_parse(&executor, manifest_id, manifest);
        let items = read(inputs, "the inputs", "input");
        let mut given: Vec<Option<Uint8Array>> = given.into_iter().map(Some).collect();
        future_to_promise(tagged(Some(run_id), async move {
            let outcome = async {
                let manifest = manifest?;
                let items = parse_items(items?, &mut given)?;
                let result = executor
                    .run_observed(&manifest, items, &cancel, observer)
                    .await
                    .map_err(|e| e.to_json())?;
                Ok::<Value, Value>(result.to_json_with(&mut |bytes| payloads.encode(bytes)))
            }
            .await;
            cancels.borrow_mut().remove(&run_id);
            payloads.answer(outcome.unwrap_or_else(|e| e))
        }))
    }

    /// Asks the run `run_id` to stop at its next item boundary (a run only yields
    /// between Python calls and server answers; the SDK terminates a worker that does not
    /// answer). Its server sessions close now, without waiting for their answers.
    pub fn cancel(&self, run_id: u32) {
        if let Some(flag) = self.cancels.borrow().get(&run_id) {
            flag.cancel();
            crate::remote::abort(run_id);
        }
    }

    /// Opens a session of manifest `manifest_id`; resolves with
    /// `{"status": "success", "session": id}` or an error answer.
    ///
    /// Manifests are named by ids the caller chooses, so a manifest crosses the
    /// boundary and is validated once, not on every call: give the manifest object with
    /// the first call that uses an id, and `undefined` afterwards (an id never given
    /// is an error answer). [`WorkerRuntime::forget`] drops one.
    pub fn open(&mut self, manifest_id: u32, manifest: JsValue) -> Promise {
        let id = self.next_session;
        self.next_session += 1;
        let executor = self.executor.clone();
        let manifests = self.manifests.clone();
        let sessions = self.sessions.clone();
        let manifest = manifests.get_or_parse(&executor, manifest_id, manifest);
        future_to_promise(async move {
            let outcome = async {
                let manifest = manifest?;
                let session = executor.open(&manifest).await.map_err(|e| e.to_json())?;
                sessions.borrow_mut().insert(id, session);
                Ok::<Value, Value>(json!({"status": "success", "session": id}))
            }
            .await;
            Ok(to_js(&outcome.unwrap_or_else(|e| e)))
        })
    }

    /// Frees a session without flushing it (its owner was garbage-collected unclosed).
    #[wasm_bindgen(js_name = dropSession)]
    pub fn drop_session(&self, session: u32) {
        self.sessions.borrow_mut().remove(&session);
    }

    /// How many sessions are open in this worker.
    #[wasm_bindgen(js_name = openSessions)]
    pub fn open_sessions(&self) -> u32 {
        self.sessions.borrow().len() as u32
    }

    /// Drops the manifest named `manifest_id` (sessions already open keep theirs).
    pub fn forget(&self, manifest_id: u32) {
        self.manifests.0.borrow_mut().remove(&manifest_id);
    }

    /// Pushes one item (in wire form) into a session; resolves with
    /// `{"status": "success", "outputs": [{node_id, data}]}` or an error answer.
    pub fn push(&self, session: u32, item: JsValue) -> Promise {
        let item = read(item, "the item", "input").and_then(|v| parse_item(&v));
        self.session_step(None, session, Some(item), Payloads::Inline)
    }

    /// Flushes and closes a session; resolves like [`WorkerRuntime::push`].
    pub fn close(&self, session: u32) -> Promise {
        self.session_step(None, session, None, Payloads::Inline)
    }

    /// Pushes live audio into a session without base64: `samples` are interleaved
    /// float32 frames (`samples.len() / channels` of them) at `sample_rate` Hz, copied
    /// once into wasm memory. `request` tags the step (Python calls carry it). Resolves
    /// with `{result, buffers}` like [`WorkerRuntime::run_transfer`]: the result is
    /// `{"status": "success", "outputs": [{node_id, data}]}` with binary payloads as
    /// `{"$buffer": n}` into `buffers`, or an error answer (`kind: "input"` for a rate
    /// outside 1 to 768000 Hz, no channels, or a sample count that is not a whole
    /// number of frames).
    #[wasm_bindgen(js_name = pushAudio)]
    pub fn push_audio(
        &self,
        request: u32,
        session: u32,
        samples: Vec<f32>,
        sample_rate: u32,
        channels: u16,
    ) -> Promise {
        let item = remotemedia_runtime::AudioBuffer::checked(samples, sample_rate, channels)
            .map(RuntimeData::Audio)
            .map_err(|message| error_json("input", message));
        self.session_step(
            Some(request),
            session,
            Some(item),
            Payloads::buffers(Vec::new()),
        )
    }

    /// Flushes and closes a session, with outputs as for [`WorkerRuntime::push_audio`].
    #[wasm_bindgen(js_name = closeTransfer)]
    pub fn close_transfer(&self, request: u32, session: u32) -> Promise {
        self.session_step(Some(request), session, None, Payloads::buffers(Vec::new()))
    }

    /// Changes parameters of node `node_id` in an open session that is not running a
    /// step (live tuning; see `Session::configure`). `params` is an object of the
    /// parameters to change. Returns `{"status": "success"}` or an error answer
    /// (`kind: "manifest"`, the problem naming `nodes[i].params.<name>`); the session
    /// stays usable either way.
    pub fn configure(&self, session: u32, node_id: String, params: JsValue) -> JsValue {
        let outcome = (|| {
            let Value::Object(changes) = read(params, "the params", "input")? else {
                return Err(error_json("input", "params must be an object".into()));
            };
            let mut sessions = self.sessions.borrow_mut();
            let session = sessions.get_mut(&session).ok_or_else(|| {
                RunError::SessionClosed(format!(
                    "no open session {session} (or a step is running on it)"
                ))
                .to_json()
            })?;
            session
                .configure(&node_id, &changes)
                .map_err(|e| e.to_json())?;
            Ok(json!({"status": "success"}))
        })();
        to_js(&outcome.unwrap_or_else(|e| e))
    }

    /// The one session step of push, close and their transfer forms: `item` pushed (or
    /// the session closed when there is none), its outputs' payloads to `payloads`.
    fn session_step(
        &self,
        request: Option<u32>,
        id: u32,
        item: Option<Result<RuntimeData, Value>>,
        mut payloads: Payloads,
    ) -> Promise {
        let sessions = self.sessions.clone();
        future_to_promise(tagged(request, async move {
            let outcome = async {
                let step = step(&sessions, id, item).await?;
                let outputs: Vec<Value> = step
                    .iter()
                    .map(|o| {
                        let data = wire::encode_with(&o.data, &mut |bytes| payloads.encode(bytes));
                        json!({"node_id": o.node_id, "data": data})
                    })
                    .collect();
                Ok::<Value, Value>(json!({"status": "success", "outputs": outputs}))
            }
            .await;
            payloads.answer(outcome.unwrap_or_else(|e| e))
        }))
    }
}

/// One session step: a push of `item`, or the close when there is none.
async fn step(
    sessions: &Rc<RefCell<HashMap<u32, Session>>>,
    id: u32,
    item: Option<Result<RuntimeData, Value>>,
) -> Result<Vec<Output>, Value> {
    // Taken out while it runs: a push must not overlap another on it.
    let mut session = sessions
        .borrow_mut()
        .remove(&id)
        .ok_or_else(|| RunError::SessionClosed(format!("no open session {id}")).to_json())?;
    let cancel = CancelFlag::new();
    let pushing = item.is_some();
    let step = match item {
        Some(Ok(item)) => session.push(item, &cancel).await.map_err(|e| e.to_json()),
        Some(Err(e)) => Err(e),
        None => session.close(&cancel).await.map_err(|e| e.to_json()),
    };
    if pushing && !session.is_closed() {
        sessions.borrow_mut().insert(id, session);
    }
    step
}

/// Reads an `.rmpkg` package (`remotemedia_runtime::package`): `{manifest, metadata,
/// files: [{name, size}], warnings: [{path, message}]}` (warnings at entry paths), or
/// `{error: {path, message}}` when it cannot be read (`path` is `rmpkg:<entry>`). Exported for the main thread, where the SDK unpacks packages
/// given to `run`/`open`/`listen` before validating their manifest.
#[wasm_bindgen(js_name = readPackage)]
pub fn read_package(bytes: &[u8]) -> JsValue {
    crate::panic::install(None);
    let answer = match remotemedia_runtime::package::read(bytes) {
        Ok(package) => serde_json::to_value(&package).unwrap_or(Value::Null),
        Err(error) => json!({ "error": error.problem() }),
    };
    answer
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// Validates a manifest against the Rust nodes and the Python built-ins:
/// `{valid, errors: [{path, message}], warnings, python_nodes, python_packages, models}`.
/// `manifest` is an object, JSON text, or the bytes of an `.rmpkg` package (a
/// `Uint8Array`; its problems at `rmpkg:<entry>`, `remotemedia_runtime::package::validate`); `limits` as in [`WorkerRuntime::new`]
/// (limits that cannot be read are one problem at `limits`). Also exported for the main
/// thread, where the SDK's `validate` is synchronous.
#[wasm_bindgen(js_name = validateManifest)]
pub fn validate_manifest(manifest: JsValue, limits: JsValue) -> JsValue {
    crate::panic::install(None);
    match crate::boundary::limits_from_js(limits) {
        Ok(limits) => validate_under(manifest, limits),
        Err(message) => {
            remotemedia_runtime::validate::ValidationReport::unreadable("limits", message)
                .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
                .unwrap_or(JsValue::NULL)
        }
    }
}

/// The `input_data` of a manifest file in the original SDK's `{manifest, input_data}`
/// form (`remotemedia_runtime::manifest::manifest_part`), as wire items; `undefined` for
/// any other form, or text that is not JSON. `file` is the file's JSON text.
#[wasm_bindgen(js_name = manifestInputData)]
pub fn manifest_input_data(file: &str) -> JsValue {
    crate::panic::install(None);
    let Ok(value) = serde_json::from_str::<Value>(file) else {
        return JsValue::UNDEFINED;
    };
    match remotemedia_runtime::manifest::manifest_part(&value).1 {
        Some(items) => to_js(&Value::Array(items.clone())),
        None => JsValue::UNDEFINED,
    }
}

/// Gives this worker's executor a model file (`file` as a validation report's `models`
/// names it, e.g. `silero_vad_v6.onnx`; `bytes` its contents): the SDK fetches the file
/// and calls this before the first request of a manifest that needs it. Returns why the
/// file was refused (an unknown name, no bytes), or `undefined`. A file that is not the
/// model fails the first node that reads it, with a NodeError.
#[wasm_bindgen(js_name = provideModel)]
pub fn provide_model(file: &str, bytes: Vec<u8>) -> Option<String> {
    crate::panic::install(None);
    remotemedia_runtime::models::store::provide(file, bytes).err()
}

/// Why `limits` (the SDK's `{maxFrames?, maxOutputValues?}`) cannot be used, or
/// `undefined` when they can: the SDK checks its `limits` option with this before
/// its workers need them.
#[wasm_bindgen(js_name = checkLimits)]
pub fn check_limits(limits: JsValue) -> Option<String> {
    crate::boundary::limits_from_js(limits).err()
}

/// [`validate_manifest`] under `limits`.
/// The Rust nodes of this build: the built-in ones, and `PanicForTest` with the
/// `panic-node` feature (test builds).
fn registry() -> NodeRegistry {
    #[allow(unused_mut)]
    let mut registry = NodeRegistry::builtin();
    #[cfg(feature = "panic-node")]
    registry.register(crate::panic_node::factory());
    registry
}

fn validate_under(manifest: JsValue, limits: Limits) -> JsValue {
    let registry = registry();
    let python = remotemedia_runtime::registry::python_builtin_names();
    let known = remotemedia_runtime::validate::KnownTypes {
        rust: &registry,
        python: &python,
        limits,
    };
    let report = match manifest.as_string() {
        Some(text) => remotemedia_runtime::validate::validate_str(&text, known).1,
        None if manifest.is_instance_of::<js_sys::Uint8Array>() => {
            let bytes = js_sys::Uint8Array::from(manifest).to_vec();
            remotemedia_runtime::package::validate(&bytes, known)
        }
        None => match from_js(manifest, "the manifest") {
            Ok(value) => remotemedia_runtime::validate::validate_value(&value, known).1,
            Err(message) => {
                remotemedia_runtime::validate::ValidationReport::unreadable("$", message)
            }
        },
    };
    report
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// An error answer in the runtime's one error shape (`RunError::to_json`).
fn error_json(kind: &str, message: String) -> Value {
    let name = remotemedia_runtime::error_kinds::class_of(kind);
    let mut error = json!({"kind": kind, "name": name, "message": message});
    if kind == "manifest" {
        error["errors"] = json!([{"path": "$", "message": message}]);
        error["warnings"] = json!([]);
    }
    json!({"status": "error", "error": error})
}

/// Where an answer's binary payloads go. `Inline`: base64 inside the JSON, and the
/// answer is the result object. `Buffers`: `{"$buffer": n}` references into `out`, JS
/// `Uint8Array`s the worker script transfers, and the answer is `{result, buffers}`.
enum Payloads {
    Inline,
    Buffers { out: Array, spare: SpareBuffers },
}

impl Payloads {
    /// Transfer mode; outputs are written into `spare` buffers where one fits.
    fn buffers(spare: Vec<Uint8Array>) -> Self {
        Payloads::Buffers {
            out: Array::new(),
            spare: SpareBuffers(spare),
        }
    }

    /// The wire form's `data` of one binary payload.
    fn encode(&mut self, bytes: &[u8]) -> Value {
        match self {
            Payloads::Inline => wire::base64_data(bytes),
            Payloads::Buffers { out, spare } => {
                out.push(&spare.holding(bytes));
                json!({ "$buffer": out.length() - 1 })
            }
        }
    }

    /// The answer for the worker script: `outcome` (a result or an error answer), with
    /// the payload buffers in transfer mode.
    fn answer(self, outcome: Value) -> Result<JsValue, JsValue> {
        let result = to_js(&outcome);
        match self {
            Payloads::Inline => Ok(result),
            Payloads::Buffers { out, .. } => {
                let answer = Object::new();
                Reflect::set(&answer, &key("result"), &result)?;
                Reflect::set(&answer, &key("buffers"), &out)?;
                Ok(answer.into())
            }
        }
    }
}

/// The buffers a transfer-mode run was given, reused for its outputs.
struct SpareBuffers(Vec<Uint8Array>);

impl SpareBuffers {
    /// A `Uint8Array` holding `bytes`: a view at the start of the smallest spare buffer
    /// big enough and at most twice its size (so a small output does not keep a big
    /// buffer alive; each is used once, so each is transferred once), or a new one.
    fn holding(&mut self, bytes: &[u8]) -> Uint8Array {
        let len = bytes.len() as u32;
        let best = (0..self.0.len())
            .filter(|&i| (len..=len.saturating_mul(2)).contains(&self.0[i].byte_length()))
            .min_by_key(|&i| self.0[i].byte_length());
        match best {
            Some(i) => {
                let buffer = self.0.swap_remove(i).buffer();
                let view = Uint8Array::new_with_byte_offset_and_length(&buffer, 0, len);
                view.copy_from(bytes);
                view
            }
            None => Uint8Array::from(bytes),
        }
    }
}

/// Validated manifests by the ids the caller gave them (see [`WorkerRuntime::open`]).
#[derive(Clone, Default)]
struct ManifestCache(Rc<RefCell<HashMap<u32, Rc<Manifest>>>>);

impl ManifestCache {
    /// Parses and keeps `body` under `id`, or, when `body` is `undefined`, the manifest
    /// kept under `id`.
    fn get_or_parse(
        &self,
        executor: &Executor,
        id: u32,
        body: JsValue,
    ) -> Result<Rc<Manifest>, Value> {
        if body.is_undefined() {
            return self.0.borrow().get(&id).cloned().ok_or_else(|| {
                error_json(
                    "manifest",
                    format!("manifest {id} is not known to this worker (give its body)"),
                )
            });
        }
        let value = read(body, "the manifest", "manifest")?;
        let manifest = Rc::new(executor.parse(&value).map_err(|e| e.to_json())?);
        self.0.borrow_mut().insert(id, manifest.clone());
        Ok(manifest)
    }
}

/// Reads a JS argument as JSON data, or the error answer of `kind` that says why not.
fn read(value: JsValue, what: &str, kind: &str) -> Result<Value, Value> {
    from_js(value, what).map_err(|message| error_json(kind, message))
}

/// Items in wire form whose payloads are base64 or `{"$buffer": n}` references into
/// `buffers` (each taken once).
fn parse_items(
    value: Value,
    buffers: &mut [Option<Uint8Array>],
) -> Result<Vec<RuntimeData>, Value> {
    let Value::Array(items) = value else {
        return Err(error_json("input", "inputs must be an array".into()));
    };
    let mut payload =
        |data: &Value, path: &str, float32: bool| match data.get("$buffer").and_then(Value::as_u64)
        {
            Some(n) => buffers
                .get_mut(n as usize)
                .and_then(Option::take)
                .map(|bytes| copy_in(&bytes, float32))
                .ok_or_else(|| wire::WireError {
                    path: path.to_string(),
                    message: format!("no transferred buffer {n} (or it was used twice)"),
                }),
            None => wire::base64_payload(data, path).map(wire::Payload::Bytes),
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

/// A JS buffer's bytes copied into wasm memory: as float32 samples straight into a
/// `Vec<f32>` when they are wanted and aligned (one copy; all browsers are
/// little-endian), else as bytes.
fn copy_in(bytes: &Uint8Array, float32: bool) -> wire::Payload {
    let (offset, len) = (bytes.byte_offset(), bytes.byte_length());
    if float32 && offset % 4 == 0 && len % 4 == 0 {
        let floats =
            js_sys::Float32Array::new_with_byte_offset_and_length(&bytes.buffer(), offset, len / 4);
        return wire::Payload::Floats(floats.to_vec());
    }
    wire::Payload::Bytes(bytes.to_vec())
}

fn parse_item(value: &Value) -> Result<RuntimeData, Value> {
    wire::decode(value).map_err(|e| error_json("input", format!("item {e}")))
}
