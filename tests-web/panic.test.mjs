// A real Rust panic inside an executor worker's WebAssembly, end to end: the executor is
// built once more with the `panic-node` cargo feature (into target/panic-wasm; release,
// without wasm-opt), whose only change is one more node, `PanicForTest`, that panics.
// The SDK's main module and executor worker are bundled again with that build's
// wasm-bindgen glue (glue and wasm go together) into tests-web/artifacts/panic-build/,
// beside copies of the other runtime files, and the page imports the SDK from there.
// The panic must reach the page as a NodeError
// naming the node (the panic hook's `on_panic` report, `node_running`, the worker
// script's `fatal` message and the page's mapping, all real), the runs in flight on
// that worker must be retried elsewhere, and the worker replaced.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import * as esbuild from "esbuild";
import path from "node:path";
import { artifacts, root, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();
let page;
const dir = path.join(artifacts, "panic-build");

before(async () => {
  const out = path.join(root, "target/panic-wasm");
  const build = spawnSync(
    "wasm-pack",
    ["build", "crates/worker", "--release", "--no-opt", "--target", "web", "--no-pack", "--out-dir", out, "--out-name", "remotemedia_worker", "--", "--features", "panic-node"],
    { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
  );
  assert.equal(build.status, 0, "wasm-pack build of the panic-node executor failed");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dist = path.join(root, "js-sdk/dist");
  for (const file of readdirSync(dist).filter((f) => !f.endsWith(".d.ts") && f !== "index.js" && f !== "executor-worker.js")) {
    if (!file.includes(".")) continue; // the declaration folders
    copyFileSync(path.join(dist, file), path.join(dir, file));
  }
  copyFileSync(path.join(out, "remotemedia_worker_bg.wasm"), path.join(dir, "remotemedia_worker_bg.wasm"));
  const glue = {
    name: "panic-build-glue",
    setup(build) {
      build.onResolve({ filter: /[\\/]wasm[\\/]remotemedia_worker\.js$/ }, () => ({ path: path.join(out, "remotemedia_worker.js") }));
    },
  };
  const common = { bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "warning", outdir: dir, plugins: [glue] };
  await esbuild.build({ ...common, entryPoints: { index: path.join(root, "js-sdk/src/index.ts") } });
  await esbuild.build({ ...common, entryPoints: { "executor-worker": path.join(root, "js-sdk/src/worker/executor/executor-worker.ts") } });
  page = await sdkPage(ctx);
  await page.evaluate(async () => {
    const sdk = await import("/tests-web/artifacts/panic-build/index.js");
    window.rm = await sdk.RemoteMedia.create({ workers: 1 });
  });
});

test("a panic rejects its run with a NodeError naming the node; runs in flight on that worker are retried", async () => {
  const started = [];
  // Workers start from blob: bootstraps: told apart by name (remotemedia-executor-N).
  page.on("worker", (w) => started.push(w.evaluate(() => self.name).catch(() => "(gone)")));
  const r = await page.evaluate(async () => {
    const rm = window.rm;
    const valid = rm.validate({ version: "v1", metadata: { name: "v" }, nodes: [{ id: "p", node_type: "PanicForTest" }] }).valid;
    // A Python node that takes 200 ms, so the runs are surely still waiting on Python
    // in the one executor worker when the panic comes.
    const slow = "import time\nfrom remotemedia import Node\nclass Slow(Node):\n    def process(self, data):\n        end = time.time() + 0.2\n        while time.time() < end:\n            pass\n        return {'results': {'uppercase': data.upper()}}\n";
    const text = (id) => ({ version: "v1", metadata: { name: `t${id}` }, nodes: [{ id: "t", node_type: "Slow", runtime_hint: "python" }], python: { modules: { slow } } });
    await rm.run(text(0), ["warm"]); // Python started
    const innocent = [1, 2, 3].map((i) => rm.run(text(i), [`run ${i}`]));
    const panics = { version: "v1", metadata: { name: "panics" }, nodes: [{ id: "in", node_type: "PassThrough" }, { id: "p", node_type: "PanicForTest" }], connections: [{ from: "in", to: "p" }] };
    const panic = await rm.run(panics, [1]).catch((e) => e);
    const results = await Promise.allSettled(innocent);
    const after = await rm.run({ version: "v1", metadata: { name: "m" }, nodes: [{ id: "m", node_type: "MultiplyNode" }] }, [5]);
    return {
      valid,
      panic: { name: panic.name, nodeId: panic.nodeId, nodeType: panic.nodeType, language: panic.language, message: panic.message },
      innocent: results.map((x) => (x.status === "fulfilled" ? x.value.outputs[0].results.uppercase : `${x.reason.name}: ${x.reason.message}`)),
      after: after.outputs,
      workers: rm.capabilities().workers,
    };
  });
  assert.equal(r.valid, true, "this build knows PanicForTest");
  assert.equal(r.panic.name, "NodeError", r.panic.message);
  assert.equal(r.panic.nodeId, "p");
  assert.equal(r.panic.nodeType, "PanicForTest");
  assert.equal(r.panic.language, "rust");
  assert.match(r.panic.message, /^node "p" \(PanicForTest\) the runtime panicked at crates\/worker\/src\/panic_node\.rs:\d+:\d+: PanicForTest was asked to panic/);
  assert.deepEqual(r.innocent, ["RUN 1", "RUN 2", "RUN 3"]);
  assert.deepEqual(r.after, [10]);
  assert.equal(r.workers, 1);
  // The panicked worker was replaced by one new executor worker.
  const names = await Promise.all(started);
  assert.equal(names.filter((n) => n.startsWith("remotemedia-executor-")).length, 1, names.join(" "));
});

test("the SDK's own build has no PanicForTest", async () => {
  const p = await sdkPage(ctx);
  const valid = await p.evaluate(async () => {
    const rm = await window.sdk.RemoteMedia.create({ workers: 1 });
    const report = rm.validate({ version: "v1", metadata: { name: "v" }, nodes: [{ id: "p", node_type: "PanicForTest" }] });
    await rm.terminate();
    return report.valid;
  });
  assert.equal(valid, false);
  await p.close();
});
