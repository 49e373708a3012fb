//! Python nodes through the Python worker.
//!
//! The worker script hands [`WorkerRuntime`](crate::WorkerRuntime) two JS functions
//! that post on the `MessagePort` to the Pyodide worker (no main-thread hop):
//! `loadPackages(names) -> Promise<responseJson>` loads the Python packages a manifest
//! asks for (before its nodes are created), and `call(requestJson) ->
//! Promise<responseJson>` serves node requests (items in wire form, batched per call):
//!
//! - `{"op": "create", "node": {id, node_type, params}, "python": {packages, modules}}`
//!   -> `{"instance": n}` (the node's `initialize` has run);
//! - `{"op": "process", "instance": n, "items": [...]}` -> `{"items": [...]}`;
//! - `{"op": "flush", "instance": n}` -> `{"items": [...]}` (`cleanup` has run and the
//!   instance is gone);
//! - `{"op": "release", "instance": n}`: drop an instance that was never flushed.
//!
//! Any answer may instead be `{"error": {"message", "traceback"}}`.

use js_sys::{Function, Promise};
use remotemedia_runtime::manifest::{Manifest, NodeSpec};
use remotemedia_runtime::node::{AsyncNode, ExternalNodes, LocalFuture, NodeFailure};
use remotemedia_runtime::wire;
use remotemedia_runtime::RuntimeData;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Python node types the Python worker always provides (`docs/python-nodes.md`); types declared in a
/// manifest's `python.modules` are added by validation.
pub const PYTHON_BUILTINS: [&str; 3] = ["TextProcessorNode", "DataTransformNode", "CalculatorNode"];

/// The Python worker as an [`ExternalNodes`] provider.
#[derive(Clone)]
pub struct PythonNodes {
    call: Function,
    load_packages: Function,
}

impl PythonNodes {
    /// Wraps the worker script's `call(requestJson) -> Promise<string>` and
    /// `loadPackages(names: string[]) -> Promise<string>` functions.
    pub fn new(call: Function, load_packages: Function) -> Self {
        PythonNodes {
            call,
            load_packages,
        }
    }
}

/// Sends one request and decodes the answer; `{"error": ...}` answers and transport
/// failures become a [`NodeFailure`].
async fn request(call: &Function, body: Value) -> Result<Value, NodeFailure> {
    answer(call.call1(&JsValue::NULL, &JsValue::from_str(&body.to_string()))).await
}

/// Awaits the promise a bridge function returned and decodes its JSON answer.
async fn answer(promise: Result<JsValue, JsValue>) -> Result<Value, NodeFailure> {
    let promise = promise.map_err(|e| transport_failure(&e))?;
    let promise: Promise = promise
        .dyn_into()
        .map_err(|_| NodeFailure::new("the Python bridge did not return a promise"))?;
    let text = JsFuture::from(promise)
        .await
        .map_err(|e| transport_failure(&e))?;
    let text = text
        .as_string()
        .ok_or_else(|| NodeFailure::new("the Python worker answered with a non-string"))?;
    let answer: Value = serde_json::from_str(&text)
        .map_err(|e| NodeFailure::new(format!("the Python worker answered with bad JSON: {e}")))?;
    if let Some(err) = answer.get("error") {
        return Err(NodeFailure {
            message: err["message"]
                .as_str()
                .unwrap_or("Python error")
                .to_string(),
            traceback: err["traceback"].as_str().map(str::to_string),
        });
    }
    Ok(answer)
}

fn transport_failure(err: &JsValue) -> NodeFailure {
    let text = js_sys::Reflect::get(err, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "unknown error".into());
    NodeFailure::new(format!("the Python worker could not be reached: {text}"))
}

fn items_of(answer: &Value) -> Result<Vec<RuntimeData>, NodeFailure> {
    let items = answer["items"]
        .as_array()
        .ok_or_else(|| NodeFailure::new("the Python worker's answer has no items"))?;
    wire::decode_all(items).map_err(|e| NodeFailure::new(format!("Python output: {e}")))
}

impl ExternalNodes for PythonNodes {
    fn language(&self) -> &str {
        "python"
    }

    fn node_types(&self) -> Vec<String> {
        PYTHON_BUILTINS.iter().map(|s| s.to_string()).collect()
    }

    fn create<'a>(
        &'a self,
        manifest: &'a Manifest,
        node: &'a NodeSpec,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>> {
        Box::pin(async move {
            let packages = manifest
                .python
                .as_ref()
                .map(|p| p.packages.as_slice())
                .unwrap_or_default();
            if !packages.is_empty() {
                let names: js_sys::Array = packages.iter().map(|p| JsValue::from_str(p)).collect();
                answer(self.load_packages.call1(&JsValue::NULL, &names)).await?;
            }
            let body = json!({
                "op": "create",
                "node": {"id": node.id, "node_type": node.node_type, "params": node.params},
                "python": manifest.python,
            });
            let answer = request(&self.call, body).await?;
            let instance = answer["instance"].as_u64().ok_or_else(|| {
                NodeFailure::new("the Python worker did not return an instance id")
            })?;
            Ok(Box::new(PythonNode {
                call: self.call.clone(),
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
    call: Function,
    instance: u64,
    flushed: bool,
}

impl Drop for PythonNode {
    fn drop(&mut self) {
        if !self.flushed {
            let body = json!({"op": "release", "instance": self.instance});
            // Fire and forget: nothing waits for a release.
            let _ = self
                .call
                .call1(&JsValue::NULL, &JsValue::from_str(&body.to_string()));
        }
    }
}

impl AsyncNode for PythonNode {
    fn process(
        &mut self,
        inputs: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move {
            let items: Vec<Value> = inputs.iter().map(wire::encode).collect();
            let body = json!({"op": "process", "instance": self.instance, "items": items});
            items_of(&request(&self.call, body).await?)
        })
    }

    fn flush(&mut self) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move {
            let body = json!({"op": "flush", "instance": self.instance});
            self.flushed = true;
            items_of(&request(&self.call, body).await?)
        })
    }
}
