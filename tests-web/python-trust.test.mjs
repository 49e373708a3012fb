// What manifest Python can and cannot reach, and Python runs stopped in place: on a
// cross-origin isolated page a timed-out or aborted Python run is interrupted (Pyodide's
// interrupt buffer) and the Python worker, with its state, stays.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRemoteMedia, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser({ isolate: true });
let page;

before(async () => {
  page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 2 });
});

/** A one-node Python manifest: module `name`, class `N` whose `process` runs `body`. */
const python = (name, body, extra = "") => ({
  version: "v1",
  metadata: { name },
  nodes: [{ id: "py", node_type: "N", runtime_hint: "python" }],
  python: { modules: { [name]: `import js\nfrom remotemedia import Node\n${extra}\nclass N(Node):\n    def process(self, data):\n${body}\n` } },
});

/** A counter kept in module state: survives as long as the Python worker does. */
const COUNTER = python("counter", "        global count\n        count += 1\n        return count", "count = 0");

/** Which of `names` the Python worker's global scope (Python's `js`) still has. */
const PROBE = python("probe", "        return {'reachable': [n for n in data if hasattr(js, n)]}");
const STORAGE = ["caches", "indexedDB", "postMessage"];
const NETWORK = ["fetch", "XMLHttpRequest", "WebSocket", "EventSource", "importScripts", "Worker", "BroadcastChannel"];

test("the page is cross-origin isolated and Python says it is interrupted in place", async () => {
  const caps = await page.evaluate(async (m) => {
    await window.rm.run(m, [[]]);
    return window.rm.capabilities();
  }, PROBE);
  assert.equal(caps.crossOriginIsolated, true);
  assert.equal(caps.pythonInterrupt, true);
});

for (const how of ["timeout", "abort"]) {
  test(`a Python loop that never returns (${how}, catching Exception): interrupted, no restart, module state kept`, async () => {
    const r = await page.evaluate(
      async ({ loop, counter, how }) => {
        const rm = window.rm;
        const before = rm.capabilities();
        const first = (await rm.run(counter, [0])).outputs[0];
        const controller = new AbortController();
        const options = how === "timeout" ? { timeoutMs: 1000 } : { signal: controller.signal };
        if (how === "abort") setTimeout(() => controller.abort(), 1000);
        const t0 = performance.now();
        const err = await rm.run(loop, ["x"], options).catch((e) => e);
        const settledMs = performance.now() - t0;
        const t1 = performance.now();
        const next = (await rm.run(counter, [0])).outputs[0];
        const nextMs = performance.now() - t1;
        await new Promise((r) => setTimeout(r, 1200)); // the grace period: no restart after it either
        const after = rm.capabilities();
        return { name: err.name, settledMs, nextMs, first, next, restarts: after.pythonRestarts - before.pythonRestarts, interrupts: after.pythonInterrupts - before.pythonInterrupts };
      },
      { loop: python(`loop_${how}`, "        while True:\n            try:\n                sum(range(1000))\n            except Exception:\n                pass"), counter: COUNTER, how },
    );
    assert.equal(r.name, how === "timeout" ? "TimeoutError" : "AbortError");
    assert.equal(r.next, r.first + 1, `module state was lost: ${r.first} then ${r.next}`);
    assert.equal(r.restarts, 0);
    assert.equal(r.interrupts, 1);
    console.log(`# ${how} (interrupt): rejected after ${r.settledMs.toFixed(0)} ms; next Python run ${r.nextMs.toFixed(1)} ms`);
  });
}

test("Python code that swallows the interrupt (bare except) is stopped by replacing the worker", async () => {
  const r = await page.evaluate(async (loop) => {
    const rm = window.rm;
    const before = rm.capabilities().pythonRestarts;
    const err = await rm.run(loop, ["x"], { timeoutMs: 500 }).catch((e) => e);
    // Python runs sent during the grace period wait behind the loop and are lost with
    // the worker (NodeError); wait for the replacement.
    const t0 = performance.now();
    while (rm.capabilities().pythonRestarts === before && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const next = await rm.run({ version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] }, ["ok"]);
    return { name: err.name, nextMs: performance.now() - t0, next: next.outputs[0].results, restarts: rm.capabilities().pythonRestarts - before };
  }, python("stubborn", "        while True:\n            try:\n                while True:\n                    pass\n            except BaseException:\n                pass"));
  assert.equal(r.name, "TimeoutError");
  assert.deepEqual(r.next, { uppercase: "OK" });
  assert.equal(r.restarts, 1);
  console.log(`# interrupt ignored: worker replaced; next Python run done ${r.nextMs.toFixed(0)} ms after the rejection (grace ${1000} ms + restart)`);
});

test("manifest Python cannot reach the origin's storage or post to the page; the network stays by default", async () => {
  const r = await page.evaluate(async (probe) => {
    const seen = [];
    const rm = await window.sdk.RemoteMedia.create({ workers: 1, onProgress: (e) => seen.push(e.stage) });
    const reachable = (await rm.run(probe.manifest, [probe.names])).outputs[0].reachable;
    // A forged progress event, through every path to the page Python might try.
    const forge = { version: "v1", metadata: { name: "forge" }, nodes: [{ id: "f", node_type: "N", runtime_hint: "python" }], python: { modules: { forge: "import js\nfrom remotemedia import Node\nclass N(Node):\n    def process(self, data):\n        tried = []\n        for path in ('postMessage', 'self.postMessage', 'globalThis.postMessage'):\n            try:\n                js.eval(path + '({type: \"progress\", stage: \"FORGED\", elapsedMs: 0})')\n                tried.append(path + ': sent')\n            except Exception as e:\n                tried.append(path + ': ' + type(e).__name__)\n        return {'tried': tried}\n" } } };
    const tried = (await rm.run(forge, [0])).outputs[0].tried;
    await new Promise((r) => setTimeout(r, 200));
    await rm.terminate();
    return { reachable, tried, forged: seen.includes("FORGED") };
  }, { manifest: PROBE, names: [...STORAGE, ...NETWORK] });
  // Nested workers exist in some browsers' workers only: compared without them.
  const without = (names) => names.filter((n) => n !== "Worker");
  assert.deepEqual(without(r.reachable), without(NETWORK));
  assert.ok(r.reachable.includes("fetch"));
  assert.ok(r.tried.every((t) => !t.endsWith("sent")), r.tried.join("; "));
  assert.equal(r.forged, false);
});

test("pythonNetwork: false removes the network APIs and refuses packages; pythonModules: false refuses inline Python", async () => {
  const r = await page.evaluate(async (probe) => {
    const { RemoteMedia } = window.sdk;
    const offline = await RemoteMedia.create({ workers: 1, pythonNetwork: false });
    const reachable = (await offline.run(probe.manifest, [probe.names])).outputs[0].reachable;
    const withPackages = { ...probe.manifest, python: { ...probe.manifest.python, packages: ["numpy"] } };
    const packages = await offline.run(withPackages, [[]]).then(() => "ran", (e) => `${e.name}: ${e.message}`);
    await offline.terminate();
    const builtinsOnly = await RemoteMedia.create({ workers: 1, pythonModules: false });
    const inline = await builtinsOnly.run(probe.manifest, [[]]).catch((e) => ({ name: e.name, problems: e.errors }));
    const builtin = (await builtinsOnly.run({ version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] }, ["fine"])).outputs[0].results;
    await builtinsOnly.terminate();
    return { reachable, packages, inline, builtin };
  }, { manifest: PROBE, names: [...STORAGE, ...NETWORK] });
  assert.deepEqual(r.reachable, []);
  assert.match(r.packages, /^NodeError: .*pythonNetwork: false.*numpy/s);
  assert.equal(r.inline.name, "ManifestError");
  assert.deepEqual(r.inline.problems.map((p) => p.path), ["$.python.modules"]);
  assert.deepEqual(r.builtin, { uppercase: "FINE" });
});
