// A Rust panic in an executor worker, end to end on the page side: the worker script is
// the real one with a stand-in that reports a panic exactly as the panic hook does
// (`fatal` with the message and `{runId, nodeId, nodeType}`) for runs of a manifest
// named "panics", and then stops answering, as a trapped instance would. (No input
// makes the real runtime panic: crates/runtime/tests/fuzz.rs keeps it so.)
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRemoteMedia, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();
let page;

const STAND_IN = `
;{
  const real = self.onmessage;
  self.onmessage = (event) => {
    const m = event.data;
    if (m?.type === "run" && m.body?.metadata?.name === "panics") {
      self.postMessage({ type: "fatal", message: "the runtime panicked at crates/runtime/src/nodes/basic.rs:1:1: attempt to divide by zero", panic: { runId: m.id, nodeId: "p", nodeType: "PassThrough" } });
      self.onmessage = () => {}; // trapped: nothing more is answered
      return;
    }
    return real(event);
  };
}
`;

before(async () => {
  page = await sdkPage(ctx);
  await page.route("**/js-sdk/dist/executor-worker.js*", async (route) => {
    const response = await route.fetch();
    route.fulfill({ response, body: (await response.text()) + STAND_IN });
  });
  await createRemoteMedia(page, { workers: 1 });
});

test("a panic rejects its run with a NodeError naming the node; runs in flight on that worker are retried", async () => {
  const started = [];
  page.on("worker", (w) => started.push(w.url()));
  const r = await page.evaluate(async () => {
    const rm = window.rm;
    // A Python node that takes 200 ms, so the runs are surely still waiting on Python
    // in the one executor worker when the panic comes.
    const slow = "import time\nfrom remotemedia import Node\nclass Slow(Node):\n    def process(self, data):\n        end = time.time() + 0.2\n        while time.time() < end:\n            pass\n        return {'results': {'uppercase': data.upper()}}\n";
    const text = (id) => ({ version: "v1", metadata: { name: `t${id}` }, nodes: [{ id: "t", node_type: "Slow", runtime_hint: "python" }], python: { modules: { slow } } });
    await rm.run(text(0), ["warm"]); // Python started
    const innocent = [1, 2, 3].map((i) => rm.run(text(i), [`run ${i}`]));
    const panic = await rm.run({ version: "v1", metadata: { name: "panics" }, nodes: [{ id: "p", node_type: "PassThrough" }] }, [1]).catch((e) => e);
    const results = await Promise.allSettled(innocent);
    const after = await rm.run({ version: "v1", metadata: { name: "m" }, nodes: [{ id: "m", node_type: "MultiplyNode" }] }, [5]);
    return {
      panic: { name: panic.name, nodeId: panic.nodeId, nodeType: panic.nodeType, language: panic.language, message: panic.message },
      innocent: results.map((x) => (x.status === "fulfilled" ? x.value.outputs[0].results.uppercase : `${x.reason.name}: ${x.reason.message}`)),
      after: after.outputs,
      workers: rm.capabilities().workers,
    };
  });
  assert.equal(r.panic.name, "NodeError");
  assert.equal(r.panic.nodeId, "p");
  assert.equal(r.panic.nodeType, "PassThrough");
  assert.equal(r.panic.language, "rust");
  assert.match(r.panic.message, /panicked at crates\/runtime\/src\/nodes\/basic\.rs:1:1: attempt to divide by zero/);
  assert.deepEqual(r.innocent, ["RUN 1", "RUN 2", "RUN 3"]);
  assert.deepEqual(r.after, [10]);
  assert.equal(r.workers, 1);
  // The panicked worker was replaced by one new executor worker.
  assert.equal(started.filter((u) => new URL(u).pathname === "/js-sdk/dist/executor-worker.js").length, 1, started.join(" "));
});
