//! The model files nodes need, and where an executor gets them.
//!
//! A model is not compiled into the browser's executor (Silero VAD's ONNX file is 2.2 MiB,
//! three times the executor itself): the SDK fetches it, only for manifests whose
//! validation report names it (`models`), and hands it to each executor worker with
//! [`provide`]. Native builds have it compiled in when `node_modules/` held it at build
//! time (`npm run setup` installs it), and read `$REMOTEMEDIA_MODELS/<file>` first when
//! that variable is set, so the CLI needs no flag.
//!
//! Networks are read from the bytes once per process (per worker) and shared by every
//! node instance that uses them.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use crate::silero::SileroVad;

/// A model file a node type needs.
#[derive(Debug, Clone, Copy)]
pub struct ModelFile {
    /// The file's name: its name in the npm package's `dist/` and in
    /// `$REMOTEMEDIA_MODELS`, and the key of [`provide`].
    pub file: &'static str,
    /// The node types (canonical names) that need it.
    pub nodes: &'static [&'static str],
    /// Where it comes from and under which licence.
    pub source: &'static str,
}

/// Silero VAD v6's ONNX export.
pub const SILERO_VAD: ModelFile = ModelFile {
    file: "silero_vad_v6.onnx",
    nodes: &["SileroVADNode", "SpeculativeVADCoordinator"],
    source: "Silero VAD 6.2 (snakers4/silero-vad, MIT, Silero Team), as npm's @ricky0123/vad-web ships it (dist/silero_vad_v6.onnx; byte for byte PyPI silero-vad's silero_vad.onnx)",
};

/// Every model file: the one list validation, the executor and the SDK read.
pub const MODEL_FILES: &[ModelFile] = &[SILERO_VAD];

/// The model files a node type needs (none for most).
pub fn files_for(node_type: &str) -> impl Iterator<Item = &'static ModelFile> + '_ {
    MODEL_FILES
        .iter()
        .filter(move |m| m.nodes.contains(&node_type))
}

#[derive(Default)]
struct Store {
    /// Bytes given with [`provide`], by file name.
    provided: HashMap<String, Arc<[u8]>>,
    /// Silero VAD networks read so far, by sample rate.
    silero: HashMap<u32, Arc<SileroVad>>,
}

static STORE: LazyLock<Mutex<Store>> = LazyLock::new(Mutex::default);

fn store() -> MutexGuard<'static, Store> {
    // A panic while holding the lock leaves nothing half-written: maps are only inserted into.
    STORE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Gives the executor a model file's bytes (the SDK does, before running a manifest whose
/// validation report names the file). Replaces earlier bytes of that file; networks read
/// from them are read again on next use.
///
/// Errors: `file` is not one of [`MODEL_FILES`]; `bytes` is empty.
pub fn provide(file: &str, bytes: Vec<u8>) -> Result<(), String> {
    let Some(model) = MODEL_FILES.iter().find(|m| m.file == file) else {
        let known: Vec<&str> = MODEL_FILES.iter().map(|m| m.file).collect();
        return Err(format!(
            "no node needs a model file named {file:?} (model files: {})",
            known.join(", ")
        ));
    };
    if bytes.is_empty() {
        return Err(format!("the model file {file} is empty"));
    }
    let mut store = store();
    store.provided.insert(model.file.to_string(), bytes.into());
    if model.file == SILERO_VAD.file {
        store.silero.clear();
    }
    Ok(())
}

/// The Silero VAD network for `sample_rate` (16000 or 8000 Hz), read on first use.
///
/// Errors: the model file was neither provided nor found (the message says where it was
/// looked for); it is not Silero VAD's ONNX export; another sample rate.
pub fn silero(sample_rate: u32) -> Result<Arc<SileroVad>, String> {
    if let Some(net) = store().silero.get(&sample_rate).cloned() {
        return Ok(net);
    }
    let bytes = bytes_of(&SILERO_VAD)?;
    let net = Arc::new(
        SileroVad::from_onnx(&bytes, sample_rate)
            .map_err(|e| format!("the model file {}: {e}", SILERO_VAD.file))?,
    );
    store().silero.insert(sample_rate, net.clone());
    Ok(net)
}

/// A model file's bytes: provided, else (natively) `$REMOTEMEDIA_MODELS/<file>`, else the
/// copy compiled into a native build.
fn bytes_of(model: &ModelFile) -> Result<Arc<[u8]>, String> {
    if let Some(bytes) = store().provided.get(model.file).cloned() {
        return Ok(bytes);
    }
    native::find(model)
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::ModelFile;
    use std::sync::Arc;

    /// The environment variable naming a folder of model files.
    const MODELS_DIR: &str = "REMOTEMEDIA_MODELS";

    pub(super) fn find(model: &ModelFile) -> Result<Arc<[u8]>, String> {
        if let Some(dir) = std::env::var_os(MODELS_DIR) {
            let path = std::path::Path::new(&dir).join(model.file);
            return std::fs::read(&path).map(Into::into).map_err(|e| {
                format!(
                    "could not read the model file {} ({MODELS_DIR} names {}): {e}",
                    path.display(),
                    std::path::Path::new(&dir).display()
                )
            });
        }
        match embedded(model) {
            Some(bytes) => Ok(bytes.into()),
            None => Err(format!(
                "this build has no copy of the model file {} ({}): it is compiled in when node_modules/ holds it at build time (npm run setup); or set {MODELS_DIR} to a folder that holds it",
                model.file, model.source
            )),
        }
    }

    #[cfg(remotemedia_embedded_silero)]
    fn embedded(model: &ModelFile) -> Option<&'static [u8]> {
        (model.file == super::SILERO_VAD.file)
            .then_some(include_bytes!(env!("REMOTEMEDIA_SILERO_ONNX")))
    }

    #[cfg(not(remotemedia_embedded_silero))]
    fn embedded(_: &ModelFile) -> Option<&'static [u8]> {
        None
    }
}

#[cfg(target_arch = "wasm32")]
mod native {
    use super::ModelFile;
    use std::sync::Arc;

    pub(super) fn find(model: &ModelFile) -> Result<Arc<[u8]>, String> {
        Err(format!(
            "the executor was not given the model file {} ({}): the SDK fetches it for manifests that need it; a host of the worker crate calls provideModel first",
            model.file, model.source
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_or_empty_model_file_is_refused() {
        assert!(provide("other.onnx", vec![1])
            .unwrap_err()
            .contains("silero_vad_v6.onnx"));
        assert!(provide(SILERO_VAD.file, Vec::new())
            .unwrap_err()
            .contains("empty"));
    }

    #[test]
    fn the_silero_node_needs_the_silero_file() {
        let files: Vec<&str> = files_for("SileroVADNode").map(|m| m.file).collect();
        assert_eq!(files, ["silero_vad_v6.onnx"]);
        assert_eq!(files_for("VoiceActivityDetector").count(), 0);
    }
}
