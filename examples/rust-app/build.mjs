// Builds the example into dist/: the app and its two workers compiled to wasm32
// (release), each through wasm-bindgen (--target web), the workers' loader scripts, the
// page and the sample recording. These are the steps Trunk runs for the same
// index.html (see README.md); this script needs only cargo and the wasm-bindgen CLI that
// scripts/setup.sh installs. Prints the sizes.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const dist = path.join(here, "dist");
const target = path.join(repo, "target/rust-app");
const bins = { app: "remotemedia-rust-app", runner: "runner", sessions: "sessions" };
const run = (cmd, args) => execFileSync(cmd, args, { cwd: here, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CARGO_TARGET_DIR: target } });

const t0 = Date.now();
run("cargo", ["build", "--release", "--locked", "--target", "wasm32-unknown-unknown", "--bins"]);
rmSync(dist, { recursive: true, force: true });
for (const [dir, bin] of Object.entries(bins)) {
  run("wasm-bindgen", ["--target", "web", "--out-dir", path.join(dist, dir), "--out-name", dir, path.join(target, "wasm32-unknown-unknown/release", `${bin}.wasm`)]);
}
// A worker's loader: starting its wasm runs its main(), which registers the worker.
for (const worker of ["runner", "sessions"]) {
  writeFileSync(path.join(dist, `${worker}_loader.js`), `import init from "./${worker}/${worker}.js";\nawait init();\n`);
}
const page = readFileSync(path.join(here, "index.html"), "utf8")
  .replace(/\s*<link data-trunk[^>]*>/g, "")
  .replace("</head>", `<script type="module">import init from "./app/app.js"; init();</script>\n</head>`);
writeFileSync(path.join(dist, "index.html"), page);
copyFileSync(path.join(repo, "node_modules/audio-lena/lena.wav"), path.join(dist, "lena.wav"));

const sizes = Object.fromEntries(
  Object.keys(bins).map((dir) => {
    const file = path.join(dist, dir, `${dir}_bg.wasm`);
    return [dir, { bytes: statSync(file).size, gzip: gzipSync(readFileSync(file)).length }];
  }),
);
mkdirSync(dist, { recursive: true });
writeFileSync(path.join(dist, "sizes.json"), `${JSON.stringify(sizes, null, 2)}\n`);
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`[rust-app] built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${Object.entries(sizes).map(([k, s]) => `${k} ${kib(s.bytes)} (${kib(s.gzip)} gzip)`).join(", ")}`);
