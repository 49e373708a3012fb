// options.ts: wrong options are typed errors naming the option, before anything starts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkCreateOptions, checkRunArguments, MAX_PYTHON_INTERPRETERS } from "../../src/options.ts";
import { InputError, RemoteMediaError } from "../../src/errors.ts";

const named = (name) => (err) => err instanceof RemoteMediaError && err.message.includes(name);

test("create options out of range name themselves", () => {
  checkCreateOptions({});
  checkCreateOptions({ defaultTimeoutMs: 0, pythonInterpreters: MAX_PYTHON_INTERPRETERS, limits: { maxFrames: 1024 } });
  for (const value of [-1, Number.NaN, "10"]) assert.throws(() => checkCreateOptions({ defaultTimeoutMs: value }), named("defaultTimeoutMs"));
  for (const value of [-1, Number.NaN, "10"]) assert.throws(() => checkCreateOptions({ pythonLoadStallMs: value }), named("pythonLoadStallMs"));
  checkCreateOptions({ pythonLoadStallMs: 0 });
  for (const value of [0, 1.5, MAX_PYTHON_INTERPRETERS + 1, 2 ** 63])
    assert.throws(() => checkCreateOptions({ pythonInterpreters: value }), named("pythonInterpreters"));
  for (const value of [null, 5, { maxFrames: "big" }, { maxFrames: 10n }]) assert.throws(() => checkCreateOptions({ limits: value }), named("limits"));
});

test("run arguments of the wrong kind are typed errors", () => {
  checkRunArguments([], {});
  assert.throws(() => checkRunArguments("audio", {}), InputError);
  assert.throws(() => checkRunArguments([], null), named("options"));
  assert.throws(() => checkRunArguments([], { signal: {} }), named("signal"));
  assert.throws(() => checkRunArguments([], { timeoutMs: -5 }), named("timeoutMs"));
  checkRunArguments([], { signal: new AbortController().signal, timeoutMs: 0 });
});
