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

/**
 * A node that runs `body` forever, except for the item "warm", which starts its
 * interpreter (each manifest's inline Python has its own) without looping: the timed
 * run then finds the loop running, not an interpreter still starting.
 */
const looping = (name, body) => python(name, `        if data == "warm":\n            return "warm"\n${body}`);

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
        await rm.run(loop, ["warm"]);
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
      { loop: looping(`loop_${how}`, "        while True:\n            try:\n                sum(range(1000))\n            except Exception:\n                pass"), counter: COUNTER, how },
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
    await rm.run(loop, ["warm"]);
    const before = rm.capabilities().pythonRestarts;
    const err = await rm.run(loop, ["x"], { timeoutMs: 500 }).catch((e) => e);
    // Python runs sent during the grace period wait behind the loop and are lost with
    // the worker (NodeError); wait for the replacement.
    const t0 = performance.now();
    while (rm.capabilities().pythonRestarts === before && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const next = await rm.run({ version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] }, ["ok"]);
    return { name: err.name, nextMs: performance.now() - t0, next: next.outputs[0].results, restarts: rm.capabilities().pythonRestarts - before };
  }, looping("stubborn", "        while True:\n            try:\n                while True:\n                    pass\n            except BaseException:\n                pass"));
  assert.equal(r.name, "TimeoutError");
  assert.deepEqual(r.next, { uppercase: "OK" });
  assert.equal(r.restarts, 1);
  console.log(`# interrupt ignored: worker replaced; next Python run done ${r.nextMs.toFixed(0)} ms after the rejection (grace ${1000} ms + restart)`);
});

test("manifest Python cannot reach the origin's storage or post to the page; the network stays by default", async () => {
  const r = await page.evaluate(async (probe) => {
    const seen = [];
    const python = [];
    const rm = await window.sdk.RemoteMedia.create({
      workers: 1,
      onProgress: (e) => {
        seen.push(e.stage);
        if (e.component === "python") python.push(e.python);
      },
    });
    const reachable = (await rm.run(probe.manifest, [probe.names])).outputs[0].reachable;
    // A forged progress event, through every path to the page Python might try.
    const forge = { version: "v1", metadata: { name: "forge" }, nodes: [{ id: "f", node_type: "N", runtime_hint: "python" }], python: { modules: { forge: "import js\nfrom remotemedia import Node\nclass N(Node):\n    def process(self, data):\n        tried = []\n        for path in ('postMessage', 'self.postMessage', 'globalThis.postMessage'):\n            try:\n                js.eval(path + '({type: \"progress\", stage: \"FORGED\", elapsedMs: 0})')\n                tried.append(path + ': sent')\n            except Exception as e:\n                tried.append(path + ': ' + type(e).__name__)\n        return {'tried': tried}\n" } } };
    const tried = (await rm.run(forge, [0])).outputs[0].tried;
    await new Promise((r) => setTimeout(r, 200));
    await rm.terminate();
    return { reachable, tried, forged: seen.includes("FORGED"), python };
  }, { manifest: PROBE, names: [...STORAGE, ...NETWORK] });
  // Nested workers exist in some browsers' workers only: compared without them.
  const without = (names) => names.filter((n) => n !== "Worker");
  assert.deepEqual(without(r.reachable), without(NETWORK));
  assert.ok(r.reachable.includes("fetch"));
  assert.ok(r.tried.every((t) => !t.endsWith("sent")), r.tried.join("; "));
  assert.equal(r.forged, false);
  // Python's progress says where it stands: starting (the run waits), then ready.
  assert.equal(r.python[0], "starting");
  assert.equal(r.python.at(-1), "ready");
  assert.ok(r.python.every((p) => p === "starting" || p === "ready"), r.python.join(" "));
});

/**
 * Every way manifest Python might make JavaScript code at run time, each trying to
 * `import()` a module (a data: URL, so no server is needed) that marks the scope;
 * the item "check" says whether one got through.
 */
const IMPORT = "import('data:text/javascript,self.imported = 1')";
const EVALUATE = python(
  "evaluate",
  `        if data == "check":
            return hasattr(js, "imported")
        tried = []
        for attempt in (
            lambda: js.eval(${JSON.stringify(IMPORT)}),
            lambda: js.Function(${JSON.stringify(`return ${IMPORT}`)})(),
            lambda: js.Function.prototype.constructor(${JSON.stringify(`return ${IMPORT}`)})(),
            lambda: pyodide_js.loadPackage.constructor(${JSON.stringify(`return ${IMPORT}`)})(),
            lambda: js.setTimeout(${JSON.stringify(IMPORT)}, 0),
        ):
            try:
                attempt()
                tried.append("ran")
            except Exception as e:
                tried.append(type(e).__name__)
        return tried`,
  "import pyodide_js",
);

test("pythonNetwork: false removes the network APIs, JavaScript code evaluation (so import() too) and refuses packages; pythonModules: false refuses inline Python", async () => {
  const r = await page.evaluate(async ({ probe, evaluate }) => {
    const { RemoteMedia } = window.sdk;
    const settle = () => new Promise((r) => setTimeout(r, 300));
    // With the network (the suite's instance), evaluation works: the probe can tell.
    const online = (await window.rm.run(evaluate, ["try"])).outputs[0];
    await settle();
    const onlineImported = (await window.rm.run(evaluate, ["check"])).outputs[0];
    const offline = await RemoteMedia.create({ workers: 1, pythonNetwork: false });
    const reachable = (await offline.run(probe.manifest, [probe.names])).outputs[0].reachable;
    const offlineTried = (await offline.run(evaluate, ["try"])).outputs[0];
    await settle();
    const offlineImported = (await offline.run(evaluate, ["check"])).outputs[0];
    const builtinOffline = (await offline.run({ version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] }, ["offline"])).outputs[0].results;
    const withPackages = { ...probe.manifest, python: { ...probe.manifest.python, packages: ["numpy"] } };
    const packages = await offline.run(withPackages, [[]]).then(() => "ran", (e) => `${e.name}: ${e.message}`);
    await offline.terminate();
    const builtinsOnly = await RemoteMedia.create({ workers: 1, pythonModules: false });
    const inline = await builtinsOnly.run(probe.manifest, [[]]).catch((e) => ({ name: e.name, problems: e.errors }));
    const builtin = (await builtinsOnly.run({ version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] }, ["fine"])).outputs[0].results;
    await builtinsOnly.terminate();
    return { reachable, packages, inline, builtin, online, onlineImported, offlineTried, offlineImported, builtinOffline };
  }, { probe: { manifest: PROBE, names: [...STORAGE, ...NETWORK] }, evaluate: EVALUATE });
  assert.deepEqual(r.online, ["ran", "ran", "ran", "ran", "ran"]);
  assert.equal(r.onlineImported, true, "the probe's import() did not run with the network on");
  assert.deepEqual(r.offlineTried, ["AttributeError", "JsException", "JsException", "JsException", "JsException"]);
  assert.equal(r.offlineImported, false, "a module was imported with pythonNetwork: false");
  assert.deepEqual(r.builtinOffline, { uppercase: "OFFLINE" });
  assert.deepEqual(r.reachable, []);
  assert.match(r.packages, /^NodeError: .*pythonNetwork: false.*numpy/s);
  assert.equal(r.inline.name, "ManifestError");
  assert.deepEqual(r.inline.problems.map((p) => p.path), ["$.python.modules"]);
  assert.deepEqual(r.builtin, { uppercase: "FINE" });
});

test("each manifest's Python runs in its own interpreter: patches to the standard library, built-ins and JS globals stay there", async () => {
  const r = await page.evaluate(async ({ patcher, victim }) => {
    const rm = await window.sdk.RemoteMedia.create({ workers: 1 });
    const text = { version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] };
    const before = (await rm.run(victim, [0])).outputs[0];
    const patched = (await rm.run(patcher, [0])).outputs[0];
    const after = (await rm.run(victim, [0])).outputs[0];
    const builtin = (await rm.run(text, ["still fine"])).outputs[0].results;
    const caps = rm.capabilities();
    await rm.terminate();
    return { before, patched, after, builtin, interpreters: caps.pythonInterpreters };
  }, {
    // Patches what one interpreter would share: a stdlib function, a Python built-in,
    // a module in sys.modules, the remotemedia package, and a JavaScript global.
    patcher: python(
      "patcher",
      "        string.capwords = lambda *a, **k: 'TAMPERED'\n        builtins.abs = lambda x: -1\n        sys.modules['textwrap'] = 'TAMPERED'\n        remotemedia.Node.process = lambda self, data: 'TAMPERED'\n        js.eval('self.tampered = true; self.fetch = () => \"TAMPERED\"')\n        return {'capwords': string.capwords('a b'), 'abs': abs(-2)}",
      "import string, builtins, sys, remotemedia",
    ),
    victim: python(
      "victim",
      "        import textwrap\n        return {'capwords': string.capwords('a b'), 'abs': abs(-2), 'textwrap': type(textwrap).__name__, 'tampered': hasattr(js, 'tampered'), 'fetch': js.fetch.toString().count('TAMPERED')}",
      "import string",
    ),
  });
  assert.deepEqual(r.patched, { capwords: "TAMPERED", abs: -1 }, "the patches did not take in their own manifest");
  const clean = { capwords: "A B", abs: 2, textwrap: "module", tampered: false, fetch: 0 };
  assert.deepEqual(r.before, clean);
  assert.deepEqual(r.after, clean, "one manifest's patches reached another's");
  assert.deepEqual(r.builtin, { uppercase: "STILL FINE" });
  assert.equal(r.interpreters, 3, "victim, patcher and the built-ins each in an interpreter");
});

test("pythonInterpreters bounds the interpreters: the idlest one without node instances makes room, one held by a session only once the session is gone", async () => {
  const r = await page.evaluate(async ({ counter, other }) => {
    const { RemoteMedia } = window.sdk;
    const rm = await RemoteMedia.create({ workers: 1, pythonInterpreters: 2 });
    const count = async () => (await rm.run(counter, [0])).outputs[0];
    const first = [await count(), await count()];
    await rm.run(other, [0]); // a second interpreter
    const t0 = performance.now();
    await rm.run({ ...other, python: { modules: { other2: other.python.modules.other } }, nodes: other.nodes }, [0]); // a third: counter's (least recently used) goes
    const newScopeMs = performance.now() - t0;
    const afterEviction = await count(); // counter again: a fresh interpreter, its count from 1
    const interpreters = rm.capabilities().pythonInterpreters;
    await rm.terminate();

    const single = await RemoteMedia.create({ workers: 1, pythonInterpreters: 1 });
    const session = await single.open(counter);
    await session.push(0);
    const refused = await single.run(other, [0]).then(() => "ran", (e) => `${e.name}: ${e.message}`);
    await session.close();
    const afterClose = await single.run(other, [0]).then(() => "ran", (e) => `${e.name}: ${e.message}`);
    // A session whose executor worker is replaced (a Rust run timed out on it) is lost;
    // the Python instance it held is released, so the interpreter can make room again.
    const lost = await single.open(counter);
    await lost.push(0);
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const voice = await (await fetch("/examples/pipelines/voice.json")).json();
    const timedOut = await single.run(voice, [wav], { timeoutMs: 1 }).then(() => "ran", (e) => e.name);
    const lostPush = await lost.push(1).then(() => "pushed", (e) => e.name);
    const afterLoss = await single.run(other, [0]).then(() => "ran", (e) => `${e.name}: ${e.message}`);
    const bad = await RemoteMedia.create({ pythonInterpreters: 0 }).then(() => "created", (e) => `${e.name}: ${e.message}`);
    await single.terminate();
    return { first, afterEviction, interpreters, newScopeMs, refused, afterClose, timedOut, lostPush, afterLoss, bad };
  }, { counter: COUNTER, other: python("other", "        return 'other'") });
  assert.deepEqual(r.first, [1, 2]);
  assert.equal(r.afterEviction, 1, "the counter's interpreter should have been stopped to make room");
  assert.equal(r.interpreters, 2);
  assert.match(r.refused, /^NodeError: .*pythonInterpreters/s);
  assert.equal(r.afterClose, "ran");
  assert.deepEqual([r.timedOut, r.lostPush, r.afterLoss], ["TimeoutError", "WorkerCrashedError", "ran"]);
  assert.match(r.bad, /^RemoteMediaError: options\.pythonInterpreters must be a whole number from 1 to 64, got 0/);
  console.log(`# a manifest with new inline Python: its interpreter started and ran in ${r.newScopeMs.toFixed(0)} ms`);
});
