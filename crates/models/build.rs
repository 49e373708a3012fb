//! Compiles Silero VAD's ONNX file into native builds when `node_modules/` holds it (npm's
//! `@ricky0123/vad-web`, which `npm run setup` installs), so the native CLI runs
//! `SileroVADNode` with no flag (src/store.rs). Never into wasm32 builds: the
//! browser's executor gets the file from the SDK, only for manifests that need it.
use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(remotemedia_embedded_silero)");
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../node_modules/@ricky0123/vad-web/dist/silero_vad_v6.onnx");
    println!("cargo::rerun-if-changed={}", model.display());
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32");
    if !wasm {
        if let Ok(path) = model.canonicalize() {
            println!("cargo::rustc-cfg=remotemedia_embedded_silero");
            println!(
                "cargo::rustc-env=REMOTEMEDIA_SILERO_ONNX={}",
                path.display()
            );
        } else {
            println!("cargo::warning=no {} (run npm run setup): this native build has no Silero VAD model; SileroVADNode will read $REMOTEMEDIA_MODELS", model.display());
        }
    }
}
