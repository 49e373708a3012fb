// manifest/cache.ts: validated once per distinct manifest, least recently used forgotten,
// here and in the workers. The runtime's validation is given as a small rule (the real
// one is the main-thread wasm, tested in tests-web); this tests the cache's own logic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManifestCache } from "../../src/manifest/cache.ts";
import { ManifestError } from "../../src/errors.ts";

/** Valid unless a node is named "bad"; counts how often it is asked; Python for node_type "Py". */
function rules() {
  const seen = [];
  return {
    seen,
    validate(manifest) {
      seen.push(manifest);
      const m = typeof manifest === "string" ? JSON.parse(manifest) : manifest;
      const bad = (m.nodes ?? []).filter((n) => n.id === "bad");
      const python = (m.nodes ?? []).filter((n) => n.node_type === "Py").map((n) => n.id);
      return {
        valid: bad.length === 0,
        errors: bad.map(() => ({ path: "$.nodes[0].id", message: "bad" })),
        warnings: [],
        python_nodes: python,
        python_packages: [],
        models: [],
      };
    },
    inputData: (text) => JSON.parse(text).input_data,
  };
}

const m = (id, extra = {}) => ({ version: "v1", nodes: [{ id, node_type: "PassThrough" }], ...extra });

test("a manifest is validated once; an equal one (object or text) is the same entry", () => {
  const r = rules();
  const cache = new ManifestCache(r, () => {});
  const a = cache.prepare(m("a"));
  assert.equal(cache.prepare(m("a")), a);
  assert.equal(cache.prepare(JSON.stringify(m("a"))), a);
  assert.equal(r.seen.length, 1);
  assert.equal(typeof r.seen[0], "string", "exact JSON is validated as text");
  assert.notEqual(cache.prepare(m("b")).id, a.id);
});

test("the body is a snapshot: changing the caller's object afterwards makes a new manifest", () => {
  const cache = new ManifestCache(rules(), () => {});
  const object = m("a");
  const first = cache.prepare(object);
  object.nodes[0].id = "changed";
  assert.equal(first.body.nodes[0].id, "a");
  assert.notEqual(cache.prepare(object).id, first.id);
});

test("over capacity the least recently used is forgotten, and the workers are told its id", () => {
  const forgotten = [];
  const cache = new ManifestCache(rules(), (id) => forgotten.push(id), false, 2);
  const a = cache.prepare(m("a"));
  const b = cache.prepare(m("b"));
  cache.prepare(m("a")); // a is now the most recently used
  cache.prepare(m("c"));
  assert.deepEqual(forgotten, [b.id]);
  assert.equal(cache.size, 2);
  assert.equal(cache.prepare(m("a")).id, a.id, "a was kept");
  assert.notEqual(cache.prepare(m("b")).id, b.id, "b comes back under a new id");
});

test("bad manifests are ManifestErrors with the runtime's problems, and are not kept", () => {
  const cache = new ManifestCache(rules(), () => {});
  assert.throws(
    () => cache.prepare(m("bad")),
    (err) => err instanceof ManifestError && err.errors[0].path === "$.nodes[0].id",
  );
  assert.equal(cache.size, 0);
  assert.throws(() => cache.prepare("{nope"), (err) => err instanceof ManifestError && err.errors[0].path === "$");
  const cyclic = m("a");
  cyclic.self = cyclic;
  assert.throws(() => cache.prepare(cyclic), (err) => err instanceof ManifestError && /cycle/.test(err.errors[0].message));
});

test("a value JSON cannot carry is validated as the object, so the runtime names it", () => {
  const r = rules();
  const cache = new ManifestCache(r, () => {});
  const odd = m("a", { metadata: { gain: Number.NaN } });
  cache.validate(odd);
  assert.equal(r.seen.at(-1), odd);
});

test("inline Python is refused with pythonModules: false; Python nodes are noted", () => {
  const refusing = new ManifestCache(rules(), () => {}, true);
  const inline = m("a", { python: { modules: { mine: "x = 1" } } });
  assert.throws(() => refusing.prepare(inline), (err) => err instanceof ManifestError && err.errors[0].path === "$.python.modules");
  const cache = new ManifestCache(rules(), () => {});
  assert.equal(cache.prepare(inline).needsPython, false);
  assert.equal(cache.prepare({ version: "v1", nodes: [{ id: "p", node_type: "Py" }] }).needsPython, true);
  assert.deepEqual(cache.prepare({ ...m("w"), input_data: [1, 2] }).inputData, [1, 2]);
});
