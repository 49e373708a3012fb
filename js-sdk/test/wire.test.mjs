// Unit tests of the SDK's wire functions (exported by dist/index.js) against the shared vectors in
// test-vectors/wire.json, the same vectors the Rust runtime is tested with.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
// The sources, not dist/: run with `node --import tsx` (npm test does).
import { fromWire, toWire, DTYPES, TYPED } from "../src/wire.ts";
import { float32ToBase64, base64ToFloat32 } from "../src/base64.ts";
import { errorFromJson, AbortError, AssetError, CaptureError, InputError, ManifestError, NodeError, TimeoutError, UnsupportedEnvironmentError, WorkerCrashedError } from "../src/errors.ts";

const vectors = JSON.parse(readFileSync(new URL("../../test-vectors/wire.json", import.meta.url), "utf8"));
const float = (v) => (v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v);
const sameFloats = (got, want, name) => {
  assert.equal(got.length, want.length, name);
  want.forEach((w, i) => assert.ok(Object.is(Math.fround(float(w)), got[i]) || (Number.isNaN(got[i]) && Number.isNaN(float(w))), `${name}[${i}]: ${got[i]} vs ${w}`));
};

// The conformance suite: the same vectors run in Rust (crates/runtime/tests/wire_format.rs)
// and Python (js-sdk/python/tests/test_remotemedia.py).
test("every valid vector decodes to the described value", () => {
  for (const v of vectors.valid) {
    const got = fromWire(v.wire);
    switch (v.kind) {
      case "text":
        assert.equal(got, v.text, v.name);
        break;
      case "json":
        assert.deepEqual(got, v.json, v.name);
        break;
      case "binary":
        assert.equal(Buffer.from(got).toString("hex"), v.bytes_hex, v.name);
        break;
      case "tensor":
        assert.deepEqual(got.shape, v.shape, v.name);
        assert.equal(got.dtype, v.dtype, v.name);
        assert.equal(Buffer.from(got.tensor.buffer, got.tensor.byteOffset, got.tensor.byteLength).toString("hex"), v.bytes_hex, v.name);
        if (v.values) sameFloats(got.tensor, v.values, v.name);
        break;
      case "audio":
        assert.equal(got.sampleRate, v.sample_rate, v.name);
        assert.equal(got.channels, v.channels, v.name);
        sameFloats(got.audio, v.samples, v.name);
        assert.equal(got.timestampUs, v.timestamp_us, v.name);
        assert.equal(got.streamId, v.stream_id, v.name);
        assert.deepEqual(got.metadata, v.metadata, v.name);
        break;
      default:
        assert.fail(`unknown kind ${v.kind}`);
    }
  }
});

test("every invalid vector is rejected with an InputError naming its path", () => {
  for (const v of vectors.invalid) {
    assert.throws(() => fromWire(v.wire), (err) => err instanceof InputError && err.message.startsWith(`${v.path}: `), v.name);
  }
});

test("canonical vectors re-encode to the same wire value", () => {
  for (const v of vectors.valid.filter((v) => v.canonical)) {
    // Two places where the SDK's input rules differ on purpose (docs/wire-format.md):
    // JavaScript has one string type, so a JSON string comes back as text; and an object
    // whose marker is `true` is taken as an envelope the caller wrote, so JSON shaped like
    // one must be wrapped in `{__json__: true, value}` by the caller to be sent as JSON.
    const lossy = v.kind === "json" && (typeof v.json === "string" || ["__numpy__", "__audio__", "__binary__", "__json__"].some((m) => v.json?.[m] === true));
    const expected = lossy ? v.json : v.wire;
    assert.deepEqual(toWire(fromWire(v.wire)), expected, v.name);
  }
});

test("user inputs convert to wire form", () => {
  assert.equal(toWire("hi"), "hi");
  assert.deepEqual(toWire([1, 2]), [1, 2]);
  const bin = toWire(new Uint8Array([1, 2, 255]));
  assert.equal(bin.binary.data, "AQL/");
  const f = new Float32Array([0.5, -1, NaN]);
  const tensor = toWire(f);
  assert.deepEqual(tensor.array.meta, { shape: [3], dtype: "float32", size: 3, c_contiguous: true, f_contiguous: true });
  sameFloats(base64ToFloat32(tensor.array.data), [0.5, -1, "NaN"], "tensor");
  const audio = toWire({ audio: new Float32Array([0.1, 0.2, 0.3, 0.4]), sampleRate: 48000, channels: 2 });
  assert.deepEqual(audio.audio.meta, { sample_rate: 48000, channels: 2, frames: 2, dtype: "float32" });
  assert.equal(audio.audio.data, float32ToBase64(new Float32Array([0.1, 0.2, 0.3, 0.4])));
});

test("bad inputs get a clear InputError", () => {
  assert.throws(() => toWire({ audio: new Float32Array(3), sampleRate: 16000, channels: 2 }), /not a whole number of 2-channel frames/);
  assert.throws(() => toWire({ audio: new Float32Array(3), sampleRate: 0 }), /sampleRate/);
  assert.throws(() => toWire(new Int16Array(2)), /tensor, shape, dtype/);
  assert.throws(() => toWire(() => 1), /cannot send/);
  assert.throws(() => base64ToFloat32("AAAAAAA="), /not a whole number of float32/);
});

test("runtime error JSON becomes typed errors", () => {
  const m = errorFromJson({ kind: "manifest", message: "invalid", errors: [{ path: "nodes[0]", message: "x" }] });
  assert.ok(m instanceof ManifestError);
  assert.equal(m.errors[0].path, "nodes[0]");
  const n = errorFromJson({ kind: "node", message: "boom", node_id: "py", node_type: "Boom", language: "python", error: "ValueError: x", traceback: "Traceback ..." });
  assert.ok(n instanceof NodeError);
  assert.deepEqual([n.nodeId, n.language, n.traceback], ["py", "python", "Traceback ..."]);
});

test("every SDK error's toJSON is the runtime's error JSON, and errorFromJson reads it back", () => {
  // The native CLI's shape (RunError::to_json): kind, name, message, snake_case fields.
  const nodeJson = { kind: "node", name: "NodeError", message: "node \"py\" (Boom, python) failed: ValueError: x", node_id: "py", node_type: "Boom", language: "python", error: "ValueError: x", traceback: "Traceback ..." };
  assert.deepEqual(errorFromJson(nodeJson).toJSON(), nodeJson);
  assert.deepEqual(JSON.parse(JSON.stringify(errorFromJson(nodeJson))), nodeJson);
  const manifestJson = { kind: "manifest", name: "ManifestError", message: "invalid manifest (1 problem(s))\n  nodes: x", errors: [{ path: "nodes", message: "x" }], warnings: [] };
  assert.deepEqual(errorFromJson(manifestJson).toJSON(), manifestJson);
  const errors = [
    new InputError("bad item"),
    new AbortError(),
    new TimeoutError(250),
    new WorkerCrashedError("gone"),
    new AssetError("404", "https://x/a.wasm", 404, "text/html"),
    new UnsupportedEnvironmentError("no workers"),
    new CaptureError("denied"),
  ];
  for (const e of errors) {
    const json = e.toJSON();
    assert.equal(json.name, e.name);
    assert.equal(typeof json.kind, "string");
    const back = errorFromJson(json);
    assert.equal(back.constructor, e.constructor, e.name);
    assert.deepEqual(back.toJSON(), json, e.name);
  }
});

test("transfer mode puts payloads in copied buffers and reads them back without base64", () => {
  const buffers = [];
  const samples = new Float32Array([0.25, -0.5, 1, 2]);
  const wire = toWire({ audio: samples, sampleRate: 16000, channels: 2 }, "input", { buffers });
  assert.deepEqual(wire.audio.data, { $buffer: 0 });
  assert.equal(buffers.length, 1);
  assert.notEqual(buffers[0], samples.buffer, "the caller's buffer must not be transferred");
  const back = fromWire(wire, [new Uint8Array(buffers[0])]);
  assert.deepEqual([...back.audio], [0.25, -0.5, 1, 2]);
  const bin = toWire(new Uint8Array([9, 8, 7]), "input", { buffers });
  assert.deepEqual(bin.binary.data, { $buffer: 1 });
  assert.throws(() => fromWire({ __binary__: true, binary: { meta: {}, data: { $buffer: 5 } } }, []), /\$\.binary\.data: expected a base64 string, got object/);
});

test("transferInputs moves whole buffers once, and copies views and repeats", () => {
  const buffers = [];
  const whole = new Float32Array([1, 2]);
  const view = new Float32Array(new ArrayBuffer(16), 4, 2);
  toWire(whole, "a", { buffers, detach: true });
  toWire(whole, "b", { buffers, detach: true }); // the same buffer again: a copy
  toWire(view, "c", { buffers, detach: true }); // part of a buffer: a copy
  assert.equal(buffers[0], whole.buffer);
  assert.notEqual(buffers[1], whole.buffer);
  assert.equal(buffers[2].byteLength, 8);
});

test("user JSON with a marker key is escaped, not taken for an envelope, and comes back unchanged", () => {
  for (const value of [{ __numpy__: "user data" }, { __audio__: 1, x: [1, 2] }, { __json__: false }, { __binary__: null }]) {
    const wire = toWire(value);
    assert.deepEqual(wire, { __json__: true, value });
    assert.deepEqual(fromWire(JSON.parse(JSON.stringify(wire))), value);
  }
  // A marker that is true is the caller's envelope, passed on as it is.
  const envelope = { __binary__: true, binary: { meta: {}, data: "AQID" } };
  assert.equal(toWire(envelope), envelope);
});

test("a Blob is refused by toWire with a clear error (run and push read it first)", () => {
  assert.throws(() => toWire(new Blob([new Uint8Array([1, 2, 3])])), (e) => e instanceof InputError && /Blob must be read first/.test(e.message));
});

test("the dtype table is the Rust codec's (test-vectors/wire.json, dtypes)", () => {
  const expected = {};
  for (const { dtype, aliases } of vectors.dtypes) for (const name of [dtype, ...aliases]) expected[name] = dtype;
  assert.deepEqual(DTYPES, expected);
  assert.deepEqual(
    Object.fromEntries(Object.entries(TYPED).map(([d, t]) => [d, t.size])),
    Object.fromEntries(vectors.dtypes.map((d) => [d.dtype, d.item_size])),
  );
});
