// Builds the package: the Rust worker crate to wasm (wasm-pack --target web, wasm-opt
// from the npm package binaryen), the TypeScript (tsc, main-thread and worker
// configurations), and copies the Pyodide core files and the manifest schema in.
// Skips the wasm build when its output is newer than every Rust source.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.resolve(sdk, "..");
const bin = path.join(root, "node_modules/.bin");
const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
const log = (m) => console.log(`[build] ${m}`);

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const wasmOut = path.join(sdk, "wasm/remotemedia_worker_bg.wasm");
const sources = Math.max(
  newest(path.join(root, "crates/runtime/src")),
  newest(path.join(root, "crates/worker/src")),
  statSync(path.join(root, "Cargo.lock")).mtimeMs,
);
if (!existsSync(wasmOut) || statSync(wasmOut).mtimeMs < sources || process.argv.includes("--force")) {
  log("wasm-pack build crates/worker (release)");
  execFileSync(
    "wasm-pack",
    ["build", path.join(root, "crates/worker"), "--target", "web", "--release", "--no-pack", "--out-dir", path.join(sdk, "wasm"), "--out-name", "remotemedia_worker"],
    { stdio: "inherit", env },
  );
} else {
  log("wasm is up to date");
}

log("tsc (main thread and workers)");
execFileSync(path.join(bin, "tsc"), ["-p", path.join(sdk, "tsconfig.json")], { stdio: "inherit", env });
execFileSync(path.join(bin, "tsc"), ["-p", path.join(sdk, "tsconfig.worker.json")], { stdio: "inherit", env });

log("copying the Pyodide core and the manifest schema");
const pyodideSrc = path.join(root, "node_modules/pyodide");
mkdirSync(path.join(sdk, "pyodide"), { recursive: true });
// Everything the runtime loads (the .mjs loaders, the .wasm, the stdlib, the lock
// file); not the consoles, source maps, typings or README.
const runtimeFile = (f) => /\.(mjs|js|wasm|zip|json)$/.test(f) && f !== "package.json";
for (const file of readdirSync(pyodideSrc).filter(runtimeFile)) {
  copyFileSync(path.join(pyodideSrc, file), path.join(sdk, "pyodide", file));
}
mkdirSync(path.join(sdk, "schema"), { recursive: true });
copyFileSync(path.join(root, "schema/manifest.schema.json"), path.join(sdk, "schema/manifest.schema.json"));
log("done");
