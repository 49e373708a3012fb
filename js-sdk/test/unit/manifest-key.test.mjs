// manifest/key.ts: the manifest cache's key, on sources (node --import tsx).
import { test } from "node:test";
import assert from "node:assert/strict";
import { isExactJson, isPlainJson, manifestKey } from "../../src/manifest/key.ts";

const manifest = { version: "v1", nodes: [{ id: "a", node_type: "PassThrough", params: { gain: 0.5 } }] };

test("a plain manifest's key is exactly its JSON, so the runtime may read the text", () => {
  const key = manifestKey(manifest);
  assert.equal(key, JSON.stringify(manifest));
  assert.ok(isExactJson(key));
  assert.deepEqual(JSON.parse(key), manifest);
});

test("values JSON cannot carry are marked, so they never share a key with a valid manifest", () => {
  // JSON.stringify turns NaN and Infinity into null and drops functions: the key must not.
  const withNull = { ...manifest, nodes: [{ id: "a", node_type: "PassThrough", params: { gain: null } }] };
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, () => 1, new Float32Array(2), 10n]) {
    const m = { ...manifest, nodes: [{ id: "a", node_type: "PassThrough", params: { gain: bad } }] };
    const key = manifestKey(m);
    assert.notEqual(key, manifestKey(withNull), String(bad));
    assert.ok(!isExactJson(key), String(bad));
  }
  assert.notEqual(manifestKey({ a: Number.NaN }), manifestKey({ a: Number.POSITIVE_INFINITY }));
  assert.ok(!isExactJson(manifestKey(undefined)));
});

test("a cycle throws (the cache turns it into a ManifestError)", () => {
  const cyclic = { version: "v1" };
  cyclic.self = cyclic;
  assert.throws(() => manifestKey(cyclic), TypeError);
});

test("isPlainJson walks nested arrays and objects", () => {
  assert.ok(isPlainJson({ a: [1, "x", true, null, { b: [2.5] }] }));
  assert.ok(!isPlainJson({ a: [1, { b: [Number.NaN] }] }));
  assert.ok(!isPlainJson({ a: undefined }));
  assert.ok(!isPlainJson([new Uint8Array(1)]));
  assert.ok(!isPlainJson(Symbol("s")));
});
