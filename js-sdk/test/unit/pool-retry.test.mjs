// pool/pool.ts: the retry rule of runs (a run is retried once, on a fresh worker, only
// when another run's crash or cancellation stopped its worker).
import { test } from "node:test";
import assert from "node:assert/strict";
import { retryable } from "../../src/pool/pool.ts";
import { NodeError, TimeoutError, WorkerCrashedError } from "../../src/errors.ts";

test("an innocent crash is retried once", () => {
  const innocent = new WorkerCrashedError("replaced: another run timed out", true);
  assert.equal(retryable(innocent, 1, false), true);
  assert.equal(retryable(innocent, 2, false), false, "only once");
  assert.equal(retryable(innocent, 1, true), false, "transferred inputs went with the dead worker");
});

test("the run's own failures are never retried", () => {
  assert.equal(retryable(new WorkerCrashedError("this run crashed it"), 1, false), false);
  assert.equal(retryable(new TimeoutError(100), 1, false), false);
  const detail = { nodeId: "n", nodeType: "T", language: "rust", detail: "x", traceback: null };
  assert.equal(retryable(new NodeError("x", detail), 1, false), false);
  assert.equal(retryable(new Error("x"), 1, false), false);
});
