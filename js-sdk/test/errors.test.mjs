// The SDK's error classes against the runtime's table of error kinds (docs/errors.json,
// `remotemedia errors`): every kind has its class, and the error JSON round-trips through
// errorFromJson and toJSON with the kind's own fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const table = JSON.parse(readFileSync(new URL("../../docs/errors.json", import.meta.url), "utf8"));
// The sources, not dist/: run with `node --import tsx` (npm test does).
const sdk = await import("../src/errors.ts");

/** A value for each field, as the runtime would write it. */
const SAMPLE = {
  errors: [{ path: "$.nodes", message: "missing" }],
  warnings: [],
  node_id: "n",
  node_type: "Echo",
  language: "rust",
  error: "boom",
  traceback: null,
  timeout_ms: 1500,
  url: "https://example.com/x.wasm",
  status: 404,
  content_type: "text/html",
  server: "127.0.0.1:50051",
  code: "node",
  remote: { kind: "node", name: "NodeError", message: "boom" },
};

test("every kind of the runtime's table has its class, and its JSON round-trips", () => {
  assert.ok(table.length >= 10, "the table lists the kinds");
  for (const { kind, name, fields } of table) {
    const json = { kind, name, message: `a ${kind} error`, ...Object.fromEntries(fields.map((f) => [f, SAMPLE[f]])) };
    const error = sdk.errorFromJson(json);
    assert.equal(typeof sdk[name], "function", `the SDK exports no class ${name} for kind ${kind}`);
    assert.ok(error instanceof sdk[name], `${kind}: errorFromJson made a ${error.name}`);
    assert.ok(error instanceof sdk.RemoteMediaError);
    assert.equal(error.name, name);
    assert.deepEqual(error.toJSON(), json, `${kind}: toJSON does not give back the error JSON`);
  }
});

test("a timeout keeps its milliseconds, a closed session is its own class", () => {
  const timeout = new sdk.TimeoutError(250);
  assert.equal(timeout.timeoutMs, 250);
  assert.equal(sdk.errorFromJson(JSON.parse(JSON.stringify(timeout))).timeoutMs, 250);
  assert.equal(new sdk.SessionClosedError().toJSON().kind, "closed");
});
