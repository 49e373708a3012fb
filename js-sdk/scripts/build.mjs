// Builds the package: the Rust worker crate to wasm (wasm-pack --target web, wasm-opt
// from the npm package binaryen), the TypeScript (tsc, main-thread and worker
// configurations), and copies the Pyodide core files and the manifest schema in.
// Skips the wasm build when its output is newer than every Rust source.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
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

if (process.argv[2] === "--stamp-only") {
  stamp(path.resolve(process.argv[3] ?? sdk));
  process.exit(0);
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

// One request instead of a module graph: the page entry and the executor worker (with
// its wasm-bindgen glue) are bundled in place, which cuts a warm start by the
// round trips of ~9 modules. The Python worker stays as it is (Pyodide dominates it).
// build-info.js stays a separate module: it is stamped after the bundle is hashed.
log("esbuild: bundling dist/index.js and dist/worker/executor-worker.js in place");
for (const entry of ["dist/index.js", "dist/worker/executor-worker.js"]) {
  const file = path.join(sdk, entry);
  execFileSync(
    path.join(bin, "esbuild"),
    [file, "--bundle", "--format=esm", "--platform=browser", "--target=es2022", "--sourcemap", "--allow-overwrite", "--external:./build-info.js", `--outfile=${file}`, "--log-level=warning"],
    { stdio: "inherit", env },
  );
}

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

stamp(sdk);
log("done");

/**
 * Writes dist/build-info.js and dist/sw.js for the files now in `dir` (a package
 * root): the list of runtime files the service worker caches and their content hash.
 * `node scripts/build.mjs --stamp-only DIR` re-stamps a copy (used by the tests).
 */
export function stamp(dir) {
  const version = JSON.parse(readFileSync(path.join(sdk, "package.json"), "utf8")).version;
  const list = (sub, keep) =>
    existsSync(path.join(dir, sub))
      ? readdirSync(path.join(dir, sub), { recursive: true })
          .map((f) => path.posix.join(sub, f.split(path.sep).join("/")))
          .filter((f) => statSync(path.join(dir, f)).isFile() && keep(f))
      : [];
  const files = [
    ...list("dist", (f) => f.endsWith(".js") && f !== "dist/sw.js"),
    ...list("wasm", (f) => /\.(js|wasm)$/.test(f)),
    ...list("python/remotemedia", (f) => f.endsWith(".py")),
    ...list("pyodide", (f) => /\.(mjs|js|wasm|zip|json)$/.test(f)),
  ].sort();
  const hash = createHash("sha256");
  for (const f of files.filter((f) => f !== "dist/build-info.js")) {
    hash.update(f);
    hash.update(readFileSync(path.join(dir, f)));
  }
  const digest = hash.digest("hex").slice(0, 16);
  writeFileSync(
    path.join(dir, "dist/build-info.js"),
    `/** Identity of this build (written by scripts/build.mjs). */\nexport const BUILD = { version: ${JSON.stringify(version)}, hash: ${JSON.stringify(digest)} };\n`,
  );
  const template = readFileSync(path.join(sdk, "sw/sw.template.js"), "utf8");
  writeFileSync(
    path.join(dir, "dist/sw.js"),
    template.replace("__VERSION__", version).replace("__HASH__", digest).replace("__FILES__", JSON.stringify(files)),
  );
  log(`stamped build ${version}-${digest} (${files.length} files for the service worker)`);
  return digest;
}
