// Sessions belong to the pool: when the worker holding a session stops (replaced after
// another run on it timed out or was aborted, crashed, or terminate()), the session's
// pending and later pushes reject at once with WorkerCrashedError, its outputs
// iterator ends with that error, and the pool goes on working. A run whose signal is
// already aborted is never sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRemoteMedia, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();

/**
 * In the page: opens an Echo session on a 1-worker pool, pushes once, stops its worker
 * with `stopWorker` (page code, as a string), then pushes again. Resolves with what each
 * step gave (a push that never settles within 5 s shows as "pending").
 */
async function sessionAfter(page, stopWorker) {
  await createRemoteMedia(page, { workers: 1 });
  return page.evaluate(async (stopWorker) => {
    const rm = window.rm;
    const echo = { version: "v1", metadata: { name: "echo" }, nodes: [{ id: "e", node_type: "Echo" }] };
    const settle = (p) =>
      Promise.race([
        p.then(
          (v) => ({ ok: true, value: v }),
          (e) => ({ ok: false, name: e.name, message: e.message }),
        ),
        new Promise((r) => setTimeout(() => r("pending"), 5000)),
      ]);
    const session = await rm.open(echo);
    const first = await settle(session.push("a"));
    const iterator = session.outputs[Symbol.asyncIterator]();
    await iterator.next(); // the first push's output
    const waiting = settle(iterator.next()); // waits for an output that will never come
    const stopped = await settle(new Function("rm", `return (async () => { ${stopWorker} })()`)(rm));
    const t0 = performance.now();
    const second = await settle(session.push("b"));
    const rejectMs = performance.now() - t0;
    const closed = await settle(session.close());
    const next = await settle(rm.run(echo, ["after"]).then((r) => r.outputs[0].input));
    return { first: first.ok, stopped, second, rejectMs, closed, iterator: await waiting, next };
  }, stopWorker);
}

function assertLost(r, reason) {
  assert.equal(r.first, true);
  assert.equal(r.second.name, "WorkerCrashedError", JSON.stringify(r.second));
  assert.match(r.second.message, /the session was lost/);
  assert.match(r.second.message, reason);
  assert.ok(r.rejectMs < 1000, `the push took ${r.rejectMs} ms to reject`);
  assert.equal(r.closed.name, "WorkerCrashedError");
  assert.equal(r.iterator.name, "WorkerCrashedError", JSON.stringify(r.iterator));
}

// A run long enough to time out or be aborted while the worker computes: 10 minutes of
// 48 kHz audio through the best resampler.
const LONG_RUN = `
  const long = { version: "v1", metadata: { name: "long" }, nodes: [{ id: "r", node_type: "FastResampleNode", params: { target_rate: 44100, quality: "High" } }] };
  const audio = { audio: new Float32Array(48000 * 600), sampleRate: 48000 };`;

test("a run timing out on the session's worker: the session's pushes reject at once", async () => {
  const page = await sdkPage(ctx);
  const r = await sessionAfter(page, `${LONG_RUN} return rm.run(long, [audio], { timeoutMs: 20 }).catch((e) => e.name);`);
  assert.deepEqual(r.stopped, { ok: true, value: "TimeoutError" });
  assertLost(r, /timed out/);
  assert.deepEqual(r.next, { ok: true, value: "after" }, "the pool did not recover");
});

test("a run aborted on the session's worker: the session's pushes reject at once", async () => {
  const page = await sdkPage(ctx);
  const r = await sessionAfter(
    page,
    `${LONG_RUN} const c = new AbortController(); setTimeout(() => c.abort(), 20); return rm.run(long, [audio], { signal: c.signal }).catch((e) => e.name);`,
  );
  assert.deepEqual(r.stopped, { ok: true, value: "AbortError" });
  assertLost(r, /was aborted/);
  assert.deepEqual(r.next, { ok: true, value: "after" });
});

test("the session's worker crashing: the session's pushes reject at once", async () => {
  const page = await sdkPage(ctx);
  // A message the worker cannot understand makes it report a fatal error: the pool replaces it.
  const r = await sessionAfter(page, `rm.pool.all[0].post({ type: "not-a-message" }); await new Promise((r) => setTimeout(r, 200));`);
  assertLost(r, /unknown message type/);
  assert.deepEqual(r.next, { ok: true, value: "after" });
});

test("terminate(): the session's pushes and new runs reject with typed errors", async () => {
  const page = await sdkPage(ctx);
  const r = await sessionAfter(page, `await rm.terminate();`);
  assertLost(r, /terminate\(\) was called/);
  assert.equal(r.next.ok, false);
  assert.equal(r.next.name, "RemoteMediaError");
  assert.match(r.next.message, /terminated/);
});

test("a run whose signal is already aborted rejects with AbortError and is never sent", async () => {
  const page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 1 });
  const r = await page.evaluate(async () => {
    const sent = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message, ...rest) {
      sent.push(message?.type);
      return post.call(this, message, ...rest);
    };
    const echo = { version: "v1", metadata: { name: "echo" }, nodes: [{ id: "e", node_type: "Echo" }] };
    const error = await window.rm.run(echo, ["x"], { signal: AbortSignal.abort() }).catch((e) => e.name);
    Worker.prototype.postMessage = post;
    const after = (await window.rm.run(echo, ["y"])).outputs[0].input;
    return { error, sent, after };
  });
  assert.equal(r.error, "AbortError");
  assert.deepEqual(r.sent, [], "the aborted run reached a worker");
  assert.equal(r.after, "y");
});

test("runs sharing a worker with an aborted Rust run are retried on a fresh worker, not rejected", async () => {
  const page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 1 });
  const r = await page.evaluate(async () => {
    const rm = window.rm;
    // Seconds of compute in one synchronous step: High-quality resampling of 3 minutes.
    const audio = new Float32Array(48000 * 180).map((_, i) => Math.sin(i * 0.01));
    const slow = { version: "v1", metadata: { name: "slow" }, nodes: [{ id: "r", node_type: "FastResampleNode", params: { target_rate: 44100, quality: "High" } }] };
    const echo = { version: "v1", metadata: { name: "echo" }, nodes: [{ id: "e", node_type: "Echo" }] };
    const controller = new AbortController();
    const aborted = rm.run(slow, [{ audio, sampleRate: 48000 }], { signal: controller.signal }).catch((e) => e.name);
    await new Promise((r) => setTimeout(r, 100));
    const bystander = rm.run(echo, ["innocent"]).then((x) => x.outputs[0].input, (e) => `${e.name}: ${e.message}`);
    await new Promise((r) => setTimeout(r, 100));
    const before = rm.pool.all[0];
    controller.abort();
    // Replaced at once (it used to keep computing the abandoned run, the bystander waiting).
    const replaced = rm.pool.all[0] !== before;
    return { aborted: await aborted, bystander: await bystander, replaced };
  });
  assert.equal(r.aborted, "AbortError");
  assert.equal(r.replaced, true);
  assert.equal(r.bystander, "innocent");
});

test("sessions dropped without close() are reclaimed once garbage-collected", async () => {
  const page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 1 });
  const opened = await page.evaluate(async () => {
    const echo = { version: "v1", metadata: { name: "echo" }, nodes: [{ id: "e", node_type: "Echo" }] };
    for (let i = 0; i < 50; i++) await (await window.rm.open(echo)).push(i); // never closed, never kept
    return window.rm.pool.all[0].sessions;
  });
  assert.equal(opened, 50);
  const cdp = await page.context().newCDPSession(page);
  let left = opened;
  for (let i = 0; i < 50 && left > 0; i++) {
    await cdp.send("HeapProfiler.collectGarbage");
    await new Promise((r) => setTimeout(r, 100));
    left = await page.evaluate(() => window.rm.pool.all[0].sessions);
  }
  assert.equal(left, 0, "dropped sessions still counted after garbage collection");
  const after = await page.evaluate(async () => (await window.rm.run({ version: "v1", metadata: { name: "m" }, nodes: [{ id: "m", node_type: "MultiplyNode" }] }, [5])).outputs);
  assert.deepEqual(after, [10]);
});
