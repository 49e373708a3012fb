// Builds the package into dist/, flat, so that every runtime file sits beside the
// module that names it with a literal `new URL("./file", import.meta.url)` (the form
// bundlers understand):
//
//   index.js            the SDK (bundled with the wasm-bindgen glue; its BUILD stamped last)
//   react.js, vue.js    the framework bindings (import ./index.js)
//   executor-worker.js  the executor worker (bundled with the glue)
//   capture-worklet.js  the AudioWorklet of live sessions
//   python-worker.js    the Python worker (bundled with Pyodide's loader and glue)
//   *.wasm, *.zip                      the runtime's data files
//   silero_vad_v6.onnx (+ .LICENSE.txt)  Silero VAD, fetched only for SileroVADNode
//   sw.js               the service worker (stamped from sw/sw.template.js)
//   *.d.ts, */*.d.ts    the types (tsc; one folder per concept, as in src/)
//
// The Rust worker crate is built with wasm-pack into wasm/ (not shipped), skipped when
// its output is newer than every Rust source; wasm-opt comes from the npm package binaryen.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { zipSync } from "fflate";

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.resolve(sdk, "..");
const bin = path.join(root, "node_modules/.bin");
const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
// Progress goes to stderr: `npm pack --json` (which runs this as prepack) owns stdout.
const log = (m) => console.error(`[build] ${m}`);
const toStderr = ["ignore", 2, 2];
const dist = path.join(sdk, "dist");

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The data files shipped beside the code: [source, name in dist/]. */
export function dataFiles() {
  const pyodide = path.dirname(fileURLToPath(import.meta.resolve("pyodide/package.json")));
  return [
    [path.join(sdk, "wasm/remotemedia_worker_bg.wasm"), "remotemedia_worker_bg.wasm"],
    [path.join(pyodide, "pyodide.asm.wasm"), "pyodide.asm.wasm"],
    [path.join(pyodide, "python_stdlib.zip"), "python_stdlib.zip"],
    // Silero VAD (MIT) for SileroVADNode, from npm's @ricky0123/vad-web, with its licence.
    [path.join(root, "node_modules/@ricky0123/vad-web/dist/silero_vad_v6.onnx"), "silero_vad_v6.onnx"],
    [path.join(sdk, "licenses/silero_vad_v6.onnx.LICENSE.txt"), "silero_vad_v6.onnx.LICENSE.txt"],
  ];
}

/**
 * Pyodide's loader and glue carry Node.js branches (`import("node:fs")`, `import("ws")`)
 * that never run in a browser but that an app's bundler would try to resolve: they
 * become empty modules. Emscripten's default wasm location is made plainly relative.
 * Their computed `import(url)`s (`loadScript`: Node's branch, and the browser's when no
 * `createPyodideModule` is given, which the worker always gives) become a rejection:
 * bundlers then have nothing to resolve, and Vite's dev server nothing to wrap in its
 * `injectQuery` helper, which would pull its HMR client into every Python worker.
 */
const pyodideForBrowsers = {
  name: "pyodide-for-browsers",
  setup(build) {
    build.onResolve({ filter: /^(node:.*|ws)$/ }, (args) => ({ path: args.path, namespace: "node-stub" }));
    build.onLoad({ filter: /.*/, namespace: "node-stub" }, () => ({ contents: "export default {};", loader: "js" }));
    build.onLoad({ filter: /[\\/]pyodide[\\/][^\\/]+\.mjs$/ }, (args) => {
      let code = readFileSync(args.path, "utf8").replaceAll('new URL("pyodide.asm.wasm",import.meta.url)', 'new URL("./pyodide.asm.wasm",import.meta.url)');
      code = `${NO_IMPORT}\n${code.replace(/\bimport\((?!["'`])/g, "__noRuntimeImport(")}`;
      if (path.basename(args.path) === "pyodide.asm.mjs") {
        if (code.split(SNAPSHOT_RESTORE).length !== 2) throw new Error(`pyodide.asm.mjs: "${SNAPSHOT_RESTORE}" not found once: update SPARSE_RESTORE for this Pyodide`);
        code = code.replace(SNAPSHOT_RESTORE, SPARSE_RESTORE);
      }
      return { contents: code, loader: "js" };
    });
  },
};

/**
 * Restoring a memory snapshot, Pyodide copies the whole image into the new memory
 * (`HEAP8.set(t)`), so every page of it becomes resident, although about half of them
 * are zero (31 MB, 52% zero pages, measured here). The copy is made sparse: a 4 KiB page
 * that is zero in the image and in memory already is skipped (fresh WebAssembly memory is
 * zero but for the module's data segments, hence the second check). The memory's
 * contents are the same; each interpreter holds about 16 MiB less (bench/results/python.md).
 */
const SNAPSHOT_RESTORE = "return Module.HEAP8.set(t),l";
const SPARSE_RESTORE =
  "return((h,s)=>{const P=4096,z=(a,o,e)=>{for(let i=o;i<e;i++)if(a[i]!==0)return false;return true};" +
  "for(let o=0;o<s.length;o+=P){const e=Math.min(o+P,s.length);if(!(z(s,o,e)&&z(h,o,e)))h.set(s.subarray(o,e),o)}})(Module.HEAP8,t),l";

/**
 * Pyodide's Node.js branches name Node's globals (`process`, `Buffer`, `__dirname`).
 * Bound here to what a browser has (nothing), they are no free globals for an app's
 * bundler to polyfill: Parcel would otherwise add, and in dev install, a `process` package.
 */
const NODE_GLOBALS = "const process = globalThis.process, Buffer = globalThis.Buffer, __dirname = undefined;";

/**
 * The build's identity (`BUILD`) is part of `index.js`, not a module of its own: a page
 * without a bundler then fetches one module before it can start, not two in a row
 * (Chromium, bench/start.html: the SDK imported 13-16 ms sooner). It is bundled as
 * `UNSTAMPED` and stamped last, since the build's hash covers `index.js` itself (hashed
 * with `UNSTAMPED` in place of the stamp, so a stamped copy can be stamped again).
 */
const UNSTAMPED = '{ version: "unstamped", hash: "unstamped" }';
const BUILD_LITERAL = /\{ version: "[^"]*", hash: "[^"]*" \}/g;
const unstampedBuild = {
  name: "unstamped-build",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]build-info\.ts$/ }, () => ({ contents: `export const BUILD = ${UNSTAMPED};`, loader: "ts" }));
  },
};

/** What a computed `import(url)` in Pyodide's sources becomes (see pyodideForBrowsers). */
const NO_IMPORT =
  "const __noRuntimeImport = (url) => Promise.reject(new Error(`the Python worker loads no script at run time (${url}): it is one self-contained module`));";

/** Fails the build if `file` still has a computed `import(...)` (see pyodideForBrowsers). */
function assertNoComputedImports(file) {
  const left = readFileSync(file, "utf8").match(/\bimport\((?!["'`]).{0,40}/g);
  if (left) throw new Error(`${path.basename(file)} has computed import()s, which bundlers and Vite's dev server rewrite: ${left.join(" | ")}`);
}

async function main() {
  if (process.argv[2] === "--stamp-only") {
    await stamp(path.resolve(process.argv[3] ?? sdk));
    return;
  }

  const wasmOut = path.join(sdk, "wasm/remotemedia_worker_bg.wasm");
  const sources = Math.max(
    newest(path.join(root, "crates/runtime/src")),
    newest(path.join(root, "crates/models/src")),
    newest(path.join(root, "crates/worker/src")),
    statSync(path.join(root, "Cargo.lock")).mtimeMs,
    statSync(path.join(root, "Cargo.toml")).mtimeMs,
    statSync(path.join(root, "crates/runtime/Cargo.toml")).mtimeMs,
    statSync(path.join(root, "crates/models/Cargo.toml")).mtimeMs,
    statSync(path.join(root, "crates/worker/Cargo.toml")).mtimeMs,
  );
  if (!existsSync(wasmOut) || statSync(wasmOut).mtimeMs < sources || process.argv.includes("--force")) {
    log("wasm-pack build crates/worker (release)");
    execFileSync(
      "wasm-pack",
      ["build", path.join(root, "crates/worker"), "--target", "web", "--release", "--no-pack", "--out-dir", path.join(sdk, "wasm"), "--out-name", "remotemedia_worker"],
      { stdio: toStderr, env },
    );
  } else {
    log("wasm is up to date");
  }

  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });

  log("tsc: type check (main thread and workers) and declarations");
  execFileSync(path.join(bin, "tsc"), ["-p", path.join(sdk, "tsconfig.json")], { stdio: toStderr, env });
  execFileSync(path.join(bin, "tsc"), ["-p", path.join(sdk, "tsconfig.worker.json")], { stdio: toStderr, env });

  // One file per entry: a warm start fetches one module, not a graph of ~9.
  log("esbuild: index.js, executor-worker.js, capture-worklet.js, python-worker.js, react.js, vue.js");
  const common = { bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "warning", legalComments: "inline" };
  await esbuild.build({
    ...common,
    entryPoints: { index: path.join(sdk, "src/index.ts") },
    outdir: dist,
    plugins: [unstampedBuild], // stamped after the bundle is hashed
  });
  await esbuild.build({
    ...common,
    entryPoints: { "executor-worker": path.join(sdk, "src/worker/executor/executor-worker.ts") },
    outdir: dist,
  });
  await esbuild.build({
    ...common,
    entryPoints: { "capture-worklet": path.join(sdk, "src/worker/capture-worklet.ts") },
    outdir: dist,
  });
  await esbuild.build({
    ...common,
    entryPoints: { "python-worker": path.join(sdk, "src/worker/python/python-worker.ts") },
    outdir: dist,
    minify: true, // Pyodide's glue is 1.2 MB already minified; keep it so
    loader: { ".json": "text" }, // Pyodide's lock, as the text loadPyodide takes
    banner: { js: NODE_GLOBALS },
    plugins: [pyodideForBrowsers],
  });
  assertNoComputedImports(path.join(dist, "python-worker.js"));
  await esbuild.build({
    ...common,
    entryPoints: { react: path.join(sdk, "src/react.ts"), vue: path.join(sdk, "src/vue.ts") },
    outdir: dist,
    external: ["./index.js", "react", "vue"],
  });

  log("data files: the executor's wasm, Pyodide's core, the remotemedia Python package (zipped)");
  for (const [from, name] of dataFiles()) copyFileSync(from, path.join(dist, name));
  writeFileSync(path.join(dist, "remotemedia-python.zip"), pythonPackageZip());
  mkdirSync(path.join(sdk, "schema"), { recursive: true });
  copyFileSync(path.join(root, "schema/manifest.schema.json"), path.join(sdk, "schema/manifest.schema.json"));

  await stamp(sdk);
  log("done");
}

/**
 * The `remotemedia` Python package as one zip (`remotemedia/*.py`), with fixed
 * timestamps so the same sources always give the same bytes (and build hash).
 */
function pythonPackageZip() {
  const dir = path.join(sdk, "python/remotemedia");
  const files = {};
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".py")).sort()) {
    files[`remotemedia/${name}`] = [readFileSync(path.join(dir, name)), { mtime: new Date("2000-01-01T00:00:00Z") }];
  }
  return zipSync(files, { level: 9 });
}

/**
 * Stamps the build into the files now in `dir` (a package root): `BUILD` in
 * dist/index.js, and dist/sw.js with the SHA-256 of each runtime file and the build's
 * hash over them and the SDK's own module (the service worker's cache name carries it).
 * `node scripts/build.mjs --stamp-only DIR` re-stamps a copy (used by the tests).
 */
export async function stamp(dir) {
  const version = JSON.parse(readFileSync(path.join(sdk, "package.json"), "utf8")).version;
  const sha = (file) => createHash("sha256").update(readFileSync(path.join(dir, "dist", file))).digest("hex");
  const indexFile = path.join(dir, "dist/index.js");
  const index = readFileSync(indexFile, "utf8");
  const found = (index.match(BUILD_LITERAL) ?? []).length;
  if (found !== 1) throw new Error(`dist/index.js: expected one BUILD literal (${UNSTAMPED}), found ${found}`);
  const unstamped = index.replace(BUILD_LITERAL, UNSTAMPED);
  // The runtime's files by role, from the SDK itself (whatever BUILD it carries now);
  // importing it in Node also proves that the module touches no browser global
  // (server-side rendering imports it).
  const { ASSET_FILES } = await import(pathToFileURL(indexFile).href);
  const files = Object.fromEntries(Object.entries(ASSET_FILES).map(([role, file]) => [role, sha(file)]));
  const hash = createHash("sha256");
  for (const [role, digest] of Object.entries(files)) hash.update(`${role}:${digest}\n`);
  hash.update(`index:${createHash("sha256").update(unstamped).digest("hex")}\n`);
  const digest = hash.digest("hex").slice(0, 16);
  writeFileSync(indexFile, unstamped.replace(BUILD_LITERAL, `{ version: ${JSON.stringify(version)}, hash: ${JSON.stringify(digest)} }`));
  const template = readFileSync(path.join(sdk, "sw/sw.template.js"), "utf8");
  writeFileSync(
    path.join(dir, "dist/sw.js"),
    template.replace("__VERSION__", version).replace("__HASH__", digest).replace("__FILES__", JSON.stringify(files, null, 2)),
  );
  log(`stamped build ${version}-${digest} (${Object.keys(files).length} runtime files for the service worker)`);
  return digest;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
