//! Python nodes natively: CPython embedded through PyO3 (as the original RemoteMedia
//! runtime did), running the same `remotemedia` Python package as the browser's Pyodide
//! worker (`js-sdk/python/remotemedia`, compiled into this crate), over the same bridge
//! protocol ([`crate::python_protocol`]). So one manifest (built-ins, user modules in
//! `python.modules`, mixed Rust and Python graphs) gives the same outputs natively and
//! in the browser.
//!
//! With the cargo feature `python` (default) the interpreter starts on the first Python
//! node; it needs the Python 3 shared library the build linked (Debian: `python3-dev`;
//! `PYO3_PYTHON` picks the interpreter at build time). Without the feature, [`provider`]
//! still knows the built-in Python node types, so manifests validate the same way, and
//! running a Python node fails with an error saying how to get Python.

use std::rc::Rc;

use crate::manifest::{Manifest, NodeSpec};
use crate::node::{AsyncNode, ExternalNodes, LocalFuture, NodeFailure};
use crate::registry::python_builtin_names;

/// The native provider of Python nodes: CPython with the `python` feature, otherwise one
/// whose nodes fail saying why there is no Python. Either way validation knows the
/// built-in Python node types. Cheap: nothing starts until a Python node is created.
pub fn provider() -> Rc<dyn ExternalNodes> {
    Rc::new(NativePython)
}

/// Whether this build can run Python nodes natively (the `python` feature).
pub const AVAILABLE: bool = cfg!(all(feature = "python", not(target_arch = "wasm32")));

/// The [`ExternalNodes`] of the native runtime.
struct NativePython;

impl ExternalNodes for NativePython {
    fn language(&self) -> &str {
        "python"
    }

    fn node_types(&self) -> Vec<String> {
        python_builtin_names()
    }

    fn create<'a>(
        &'a self,
        manifest: &'a Manifest,
        node: &'a NodeSpec,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>> {
        Box::pin(async move { create_node(manifest, node) })
    }
}

#[cfg(all(feature = "python", not(target_arch = "wasm32")))]
use cpython::create_node;

/// Without the `python` feature: every Python node fails, saying how to get Python.
#[cfg(not(all(feature = "python", not(target_arch = "wasm32"))))]
fn create_node(_manifest: &Manifest, _node: &NodeSpec) -> Result<Box<dyn AsyncNode>, NodeFailure> {
    Err(NodeFailure::new(
        "this build of the runtime has no Python: build it with the cargo feature \
         `python` (on by default; it needs Python 3's development files, Debian's \
         python3-dev), or run the manifest in the browser",
    ))
}

#[cfg(all(feature = "python", not(target_arch = "wasm32")))]
mod cpython {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use pyo3::prelude::*;
    use pyo3::sync::PyOnceLock;
    use pyo3::types::PyList;
    use serde_json::Value;

    use super::*;
    use crate::data::RuntimeData;
    use crate::python_protocol as protocol;

    /// The package's files, compiled in so the binary needs no checkout.
    const PACKAGE: [(&str, &str); 5] = [
        (
            "__init__.py",
            include_str!("../../../js-sdk/python/remotemedia/__init__.py"),
        ),
        (
            "bridge.py",
            include_str!("../../../js-sdk/python/remotemedia/bridge.py"),
        ),
        (
            "builtins.py",
            include_str!("../../../js-sdk/python/remotemedia/builtins.py"),
        ),
        (
            "node.py",
            include_str!("../../../js-sdk/python/remotemedia/node.py"),
        ),
        (
            "wire.py",
            include_str!("../../../js-sdk/python/remotemedia/wire.py"),
        ),
    ];

    /// The directory holding `remotemedia/`, written once per content (its name carries a
    /// hash of the files) in the user's cache folder (`$XDG_CACHE_HOME` or `~/.cache`,
    /// not a shared temporary folder where another user could plant code; the system's
    /// temporary folder only when neither is set). Real files, because the package reads
    /// its own source (`inspect.getsource`) as it does in Pyodide.
    fn package_root() -> Result<&'static PathBuf, String> {
        static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        ROOT.get_or_init(|| {
            // FNV-1a over names and contents: a new package version gets a new directory.
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for (name, text) in PACKAGE {
                for byte in name.bytes().chain(text.bytes()) {
                    hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                }
            }
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
                .unwrap_or_else(std::env::temp_dir);
            let root = cache
                .join("remotemedia")
                .join(format!("python-{hash:016x}"));
            let dir = root.join("remotemedia");
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for (name, text) in PACKAGE {
                let path = dir.join(name);
                if std::fs::read_to_string(&path).ok().as_deref() == Some(text) {
                    continue;
                }
                // Written beside, then renamed: another process may be reading it.
                let partial = dir.join(format!("{name}.{}.partial", std::process::id()));
                std::fs::write(&partial, text)
                    .and_then(|()| std::fs::rename(&partial, &path))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            Ok(root)
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// `remotemedia.bridge.handle`, imported once per process.
    fn bridge(py: Python<'_>) -> Result<Bound<'_, PyAny>, NodeFailure> {
        // A PyOnceLock, not a OnceLock: importing may release the GIL, and a second thread
        // blocking on a OnceLock while holding the GIL would deadlock.
        static HANDLE: PyOnceLock<Result<Py<PyAny>, String>> = PyOnceLock::new();
        let handle = HANDLE.get_or_init(py, || {
            let root = package_root()?;
            let started = (|| -> PyResult<Py<PyAny>> {
                let sys = py.import("sys")?;
                let path = sys.getattr("path")?.cast_into::<PyList>()?;
                path.insert(0, root.to_string_lossy().as_ref())?;
                Ok(py.import("remotemedia.bridge")?.getattr("handle")?.unbind())
            })();
            started.map_err(|e| format!("cannot load the remotemedia Python package: {e}"))
        });
        handle
            .as_ref()
            .map(|h| h.bind(py).clone())
            .map_err(|e| NodeFailure::new(e.clone()))
    }

    /// One bridge request: JSON text in, JSON text out, under the GIL.
    fn ask(body: &Value) -> Result<Value, NodeFailure> {
        let text = Python::attach(|py| -> Result<String, NodeFailure> {
            let handle = bridge(py)?;
            handle
                .call1((body.to_string(),))
                .and_then(|answer| answer.extract::<String>())
                .map_err(|e| NodeFailure::new(format!("the Python bridge failed: {e}")))
        })?;
        protocol::read_answer(&text)
    }

    /// One node instance in the embedded interpreter: the manifest's packages imported,
    /// then the bridge's `create` (the node's `initialize` has run).
    pub(super) fn create_node(
        manifest: &Manifest,
        node: &NodeSpec,
    ) -> Result<Box<dyn AsyncNode>, NodeFailure> {
        let packages = manifest.python_packages();
        if !packages.is_empty() {
            ask(&protocol::require_request(packages))?;
        }
        let answer = ask(&protocol::create_request(manifest, node))?;
        Ok(Box::new(CPythonNode {
            instance: protocol::instance_of(&answer)?,
            flushed: false,
        }))
    }

    /// One Python node instance in the embedded interpreter; released if dropped unflushed.
    struct CPythonNode {
        instance: u64,
        flushed: bool,
    }

    impl Drop for CPythonNode {
        fn drop(&mut self) {
            if !self.flushed {
                // Its answer says nothing a dropped run could use.
                let _ = ask(&protocol::release_request(self.instance));
            }
        }
    }

    impl AsyncNode for CPythonNode {
        fn process(
            &mut self,
            inputs: Vec<RuntimeData>,
        ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
            Box::pin(async move {
                let answer = ask(&protocol::process_request(self.instance, &inputs))?;
                protocol::items_of(&answer)
            })
        }

        fn flush(&mut self) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
            Box::pin(async move {
                self.flushed = true;
                protocol::items_of(&ask(&protocol::flush_request(self.instance))?)
            })
        }
    }
}
