// Python that never returns, or that kills its worker, is recovered from: the run
// rejects with its own error, the Python worker is replaced, and later runs work.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRemoteMedia, root, sdkPage, useBrowser } from "./helpers.mjs";
import { serve } from "../js-sdk/node/server.mjs";

const ctx = useBrowser();
let page;

before(async () => {
  page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 2 });
});

/** A one-node Python manifest whose `process` runs `body`. */
const python = (name, body) => ({
  version: "v1",
  metadata: { name },
  nodes: [{ id: "py", node_type: "Stuck", runtime_hint: "python" }],
  python: { modules: { [name]: `import js\nfrom remotemedia import Node\n\nclass Stuck(Node):\n    def process(self, data):\n${body}\n        return data\n` } },
});
const TEXT = { version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] };

for (const how of ["timeout", "abort"]) {
  test(`a Python loop that never returns: ${how} rejects, Python is replaced, the next Python run works`, async () => {
    const r = await page.evaluate(
      async ({ manifest, text, how }) => {
        const rm = window.rm;
        const before = rm.capabilities().pythonRestarts;
        await rm.run(text, ["warm"]); // Python started
        const controller = new AbortController();
        const options = how === "timeout" ? { timeoutMs: 1500 } : { signal: controller.signal };
        if (how === "abort") setTimeout(() => controller.abort(), 1500);
        const t0 = performance.now();
        const err = await rm.run(manifest, ["x"], options).catch((e) => e);
        const settledMs = performance.now() - t0;
        const t1 = performance.now();
        const next = await rm.run(text, ["again"]);
        const nextMs = performance.now() - t1;
        const rust = await rm.run({ version: "v1", metadata: { name: "m" }, nodes: [{ id: "m", node_type: "MultiplyNode" }] }, [4]);
        return { name: err.name, settledMs, nextMs, next: next.outputs[0].results, rust: rust.outputs, restarts: rm.capabilities().pythonRestarts - before };
      },
      { manifest: python(`loop_${how}`, "        while True:\n            pass"), text: TEXT, how },
    );
    assert.equal(r.name, how === "timeout" ? "TimeoutError" : "AbortError");
    assert.ok(r.settledMs < 5000, `settled after ${r.settledMs} ms`);
    assert.deepEqual(r.next, { uppercase: "AGAIN" });
    assert.deepEqual(r.rust, [8]);
    assert.equal(r.restarts, 1);
    console.log(`# ${how}: rejected after ${r.settledMs.toFixed(0)} ms; next Python run ${r.nextMs.toFixed(0)} ms (worker restarted)`);
  });
}

test("a run's timeout and abort cover its wait for Python's start: it rejects while Python starts, the start goes on for the next run", async () => {
  const r = await page.evaluate(async (text) => {
    const rm = await window.sdk.RemoteMedia.create({ workers: 1 });
    try {
      const t0 = performance.now();
      const late = await rm.run(text, ["a"], { timeoutMs: 5 }).catch((e) => e);
      const lateAt = { ms: performance.now() - t0, python: rm.capabilities().python };
      const controller = new AbortController();
      // Aborted at Python's first start-up event, as a user's cancel button would be.
      const aborted = await rm.run(text, ["b"], { signal: controller.signal, onProgress: (e) => e.stage === "python" && controller.abort() }).catch((e) => e);
      const abortedAt = rm.capabilities().python;
      const next = await rm.run(text, ["c"]);
      // Longer than a timer can wait (2^31 - 1 ms): waits, rather than firing at once.
      const huge = await rm.run(text, ["d"], { timeoutMs: 2 ** 63 }).then((r) => r.outputs[0].results, (e) => e.name);
      return {
        huge,
        late: { name: late.name, message: late.message, timeoutMs: late.timeoutMs, ...lateAt },
        aborted: { name: aborted.name, python: abortedAt },
        next: next.outputs[0].results,
        restarts: rm.capabilities().pythonRestarts,
      };
    } finally {
      await rm.terminate();
    }
  }, TEXT);
  assert.equal(r.late.name, "TimeoutError", JSON.stringify(r.late));
  assert.equal(r.late.timeoutMs, 5);
  assert.match(r.late.message, /within 5 ms: Python was still starting \(.+\)/);
  assert.equal(r.late.python, "starting");
  assert.equal(r.aborted.name, "AbortError");
  assert.equal(r.aborted.python, "starting");
  assert.deepEqual(r.next, { uppercase: "C" });
  assert.deepEqual(r.huge, { uppercase: "D" });
  assert.equal(r.restarts, 0, "the start was not begun again");
});

// The Python worker's script is loaded twice: by the page (the host), then by the host
// (the interpreter); then the host downloads Pyodide's WebAssembly. The server leaves one
// of those loads unanswered, as a stalled load.
for (const [which, file, stalled, expected, stage] of [
  ["the Python worker's script", "/python-worker.js", 1, 3, "the Python worker's script did not load in 1000 ms: loading it again"],
  ["the interpreter's script", "/python-worker.js", 2, 3, "the interpreter's script did not load in 1000 ms: loading it again"],
  ["the download of Pyodide's WebAssembly", "/pyodide.asm.wasm", 1, 2, "fetching and compiling Pyodide's WebAssembly"],
]) {
  test(`${which} stalls: after pythonLoadStallMs it is loaded again and Python starts`, { timeout: 120_000 }, async () => {
    let loads = 0;
    const server = await serve(root, { onRequest: (p) => (p.endsWith(file) && ++loads === stalled ? "hold" : undefined) });
    const stallPage = await ctx.browser.newPage();
    try {
      await stallPage.goto(`${server.url}/js-sdk/node/harness.html`);
      await stallPage.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
      const r = await stallPage.evaluate(async (text) => {
        const stages = [];
        const bad = await window.sdk.RemoteMedia.create({ pythonLoadStallMs: Number.NaN }).catch((e) => `${e.name}: ${e.message}`);
        const rm = await window.sdk.RemoteMedia.create({ workers: 1, pythonLoadStallMs: 1000, onProgress: (e) => e.component === "python" && stages.push(e.stage) });
        try {
          const out = await rm.run(text, ["stalled"]);
          return { bad, stages, results: out.outputs[0].results, python: rm.capabilities().python };
        } finally {
          await rm.terminate();
        }
      }, TEXT);
      assert.equal(r.bad, "RemoteMediaError: options.pythonLoadStallMs must be a number of milliseconds >= 0, got NaN");
      assert.ok(r.stages.includes(stage), JSON.stringify(r.stages));
      assert.deepEqual(r.results, { uppercase: "STALLED" });
      assert.equal(r.python, "ready");
      assert.equal(loads, expected, "the stalled load, its second try (and the other load of the script)");
    } finally {
      await stallPage.close();
      await server.close();
    }
  });
}

test("defaultTimeoutMs: a run that gives no timeout still cannot wait forever", async () => {
  const r = await page.evaluate(
    async ({ manifest, text }) => {
      const { RemoteMedia } = window.sdk;
      const bad = await RemoteMedia.create({ workers: 1, defaultTimeoutMs: -1 }).catch((e) => e);
      const rm = await RemoteMedia.create({ workers: 1, defaultTimeoutMs: 1500 });
      try {
        const t0 = performance.now();
        const err = await rm.run(manifest, ["x"]).catch((e) => e); // no timeoutMs of its own
        const settledMs = performance.now() - t0;
        const next = await rm.run(text, ["again"]);
        return { bad: [bad.name, bad.message], name: err.name, message: err.message, settledMs, next: next.outputs[0].results };
      } finally {
        await rm.terminate();
      }
    },
    { manifest: python("loop_default", "        while True:\n            pass"), text: TEXT },
  );
  assert.equal(r.bad[0], "RemoteMediaError");
  assert.match(r.bad[1], /defaultTimeoutMs/);
  assert.equal(r.name, "TimeoutError");
  assert.match(r.message, /1500 ms/);
  assert.ok(r.settledMs >= 1400 && r.settledMs < 5000, `settled after ${r.settledMs} ms`);
  assert.deepEqual(r.next, { uppercase: "AGAIN" });
});

/** Runs `manifest` (which fails), then a text run; the failure, the next output and the restarts. */
function failThenRecover(manifest, word) {
  return page.evaluate(
    async ({ manifest, text, word }) => {
      const rm = window.rm;
      const before = rm.capabilities().pythonRestarts;
      const err = await rm.run(manifest, ["x"]).catch((e) => e);
      const next = await rm.run(text, [word]);
      return { name: err.name, message: err.message, next: next.outputs[0].results, restarts: rm.capabilities().pythonRestarts - before };
    },
    { manifest, text: TEXT, word },
  );
}

test("Python that closes its own worker: the run fails with a NodeError and Python comes back", async () => {
  const r = await failThenRecover(python("closer", "        js.close()\n        while True:\n            pass"), "back");
  assert.equal(r.name, "NodeError");
  assert.match(r.message, /Python worker was restarted/);
  assert.deepEqual(r.next, { uppercase: "BACK" });
  assert.equal(r.restarts, 1);
});

test("a Python MemoryError fails its run and replaces the Python worker (WebAssembly memory never shrinks)", async () => {
  const r = await failThenRecover(python("hog", "        data = [bytearray(2 ** 30) for _ in range(8)]"), "after");
  assert.equal(r.name, "NodeError");
  assert.match(r.message, /MemoryError/);
  assert.deepEqual(r.next, { uppercase: "AFTER" });
  assert.equal(r.restarts, 1);
});
