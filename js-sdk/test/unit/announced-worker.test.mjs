// announced-worker.ts: a worker is sent its first message only once it says it listens,
// and a first load that stalls is given up once for a second under another URL.
import { test, beforeEach, afterEach, mock } from "node:test";
import assert from "node:assert/strict";
import { startAnnounced } from "../../src/announced-worker.ts";

/** A stand-in for the browser's Worker: records each one started. */
class FakeWorker {
  static started = [];
  constructor(url, options) {
    this.url = url;
    this.options = options;
    this.terminated = false;
    this.onmessage = null;
    this.onerror = null;
    FakeWorker.started.push(this);
  }
  terminate() {
    this.terminated = true;
  }
  /** The script says it listens. */
  announce() {
    this.onmessage?.({ data: { type: "loaded" } });
  }
}

const URL_ = "http://127.0.0.1:8080/dist/python-worker.js?v=abc";
let calls;
const handlers = () => ({
  stallMs: 1000,
  onLoaded: (w) => calls.push(["loaded", w]),
  onStall: () => calls.push(["stall"]),
  onError: (m) => calls.push(["error", m]),
});

beforeEach(() => {
  FakeWorker.started = [];
  calls = [];
  globalThis.Worker = FakeWorker;
  mock.timers.enable({ apis: ["setTimeout"] });
});
afterEach(() => {
  mock.timers.reset();
  delete globalThis.Worker;
});

test("a worker that says it listens in time is handed over once, and never started again", () => {
  const started = startAnnounced(URL_, "remotemedia-python", handlers());
  const [first] = FakeWorker.started;
  assert.deepEqual(first.options, { type: "module", name: "remotemedia-python" });
  first.onmessage({ data: { type: "progress" } }); // not the announcement: ignored
  assert.deepEqual(calls, []);
  first.announce();
  mock.timers.tick(5000);
  assert.deepEqual(calls, [["loaded", first]]);
  assert.equal(FakeWorker.started.length, 1);
  assert.equal(started.worker, first);
});

test("a stalled first load is terminated and the script started again with attempt=2; the second is waited for without a bound", () => {
  const started = startAnnounced(URL_, "remotemedia-python", handlers());
  const [first] = FakeWorker.started;
  mock.timers.tick(999);
  assert.equal(FakeWorker.started.length, 1);
  mock.timers.tick(1);
  assert.ok(first.terminated);
  assert.equal(first.onmessage, null, "the stalled worker's late announcement is not heard");
  const second = FakeWorker.started[1];
  assert.equal(second.url, "http://127.0.0.1:8080/dist/python-worker.js?v=abc&attempt=2");
  assert.equal(started.worker, second);
  mock.timers.tick(60_000);
  assert.equal(FakeWorker.started.length, 2, "no third try");
  second.announce();
  assert.deepEqual(calls, [["stall"], ["loaded", second]]);
});

test("a URL that was a second try already gets the next attempt number", () => {
  startAnnounced(`${URL_}&attempt=2`, "remotemedia-python-interpreter", handlers());
  mock.timers.tick(1000);
  assert.match(FakeWorker.started[1].url, /[?&]attempt=3$/);
});

test("an error event is reported with its message and not left to the page's console", () => {
  startAnnounced(URL_, "remotemedia-python", handlers());
  let prevented = false;
  FakeWorker.started[0].onerror({ message: "", preventDefault: () => (prevented = true) });
  assert.ok(prevented);
  assert.deepEqual(calls, [["error", "script error"]]);
});

test("stop() terminates the worker and cancels the second try; a blob: URL is never tried again", () => {
  const started = startAnnounced(URL_, "remotemedia-python", handlers());
  started.stop();
  mock.timers.tick(5000);
  assert.ok(FakeWorker.started[0].terminated);
  assert.equal(FakeWorker.started.length, 1);

  startAnnounced("blob:http://127.0.0.1:8080/4f1c", "remotemedia-python", handlers());
  mock.timers.tick(5000);
  assert.equal(FakeWorker.started.length, 2);
  assert.deepEqual(calls, []);
});

test("a time limit beyond what a timer can hold does not fire at once", () => {
  startAnnounced(URL_, "remotemedia-python", { ...handlers(), stallMs: 2 ** 63 });
  mock.timers.tick(2 ** 31 - 2);
  assert.equal(FakeWorker.started.length, 1);
});
