// The browser CLI against the native CLI: same manifests, same inputs, same result
// JSON (metrics aside; float32 audio to within rounding of the SIMD FFTs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { root } from "./helpers.mjs";

// The native CLI: REMOTEMEDIA_CLI (npm test's debug build), else a release build.
const native = process.env.REMOTEMEDIA_CLI ?? path.join(root, "target/release/remotemedia");

function cli(command, args) {
  const r = spawnSync(command, args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  return { code: r.status, json: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}
const browser = (...args) => cli(process.execPath, ["js-sdk/bin/remotemedia-web.mjs", ...args]);

function nativeCli(...args) {
  if (!existsSync(native)) {
    const build = spawnSync("cargo", ["build", "--release", "-q", "-p", "remotemedia-cli", "--bin", "remotemedia"], { cwd: root, stdio: "inherit" });
    assert.equal(build.status, 0, "cargo build of the native CLI failed");
  }
  return cli(native, args);
}

function floats(b64) {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
}

/** Deep comparison that tolerates tiny float32 differences inside audio envelopes. */
function assertParity(a, b, where = "$") {
  if (a && typeof a === "object" && a.__audio__) {
    assert.deepEqual(a.audio.meta, b.audio.meta, `${where}.audio.meta`);
    const x = floats(a.audio.data);
    const y = floats(b.audio.data);
    assert.equal(x.length, y.length, `${where}: sample counts`);
    let max = 0;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
    assert.ok(max < 1e-5, `${where}: samples differ by up to ${max}`);
    return;
  }
  if (Array.isArray(a)) {
    assert.equal(a.length, b.length, `${where}: lengths`);
    a.forEach((v, i) => assertParity(v, b[i], `${where}[${i}]`));
    return;
  }
  if (a && typeof a === "object") {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${where}: keys`);
    for (const k of Object.keys(a)) assertParity(a[k], b[k], `${where}.${k}`);
    return;
  }
  assert.equal(a, b, where);
}

for (const [manifest, input] of [
  ["voice.json", "node_modules/audio-lena/lena.flac"],
  // Silero VAD: the model fetched by the SDK in the browser, compiled into the native CLI.
  ["voice-silero.json", "node_modules/audio-lena/lena.flac"],
  ["calculator.json", "examples/pipelines/numbers.json"],
  ["text.json", "examples/pipelines/text-input.json"],
  // Python nodes: Pyodide in the browser, embedded CPython natively, the same package.
  ["mixed.json", "node_modules/audio-lena/lena.flac"],
  ["voice-python.json", "node_modules/audio-lena/lena.flac"],
  // An .rmpkg package (the original SDK's zip form), read by each CLI.
  ["../../test-vectors/original/calculator.rmpkg", "examples/pipelines/numbers.json"],
]) {
  test(`browser and native CLIs agree on ${manifest}`, () => {
    const args = ["run", `examples/pipelines/${manifest}`, "--input", input];
    const web = browser(...args);
    const nat = nativeCli(...args);
    assert.equal(web.code, 0, web.stderr);
    assert.equal(nat.code, 0, nat.stderr);
    delete web.json.metrics;
    delete nat.json.metrics;
    delete web.json.worker;
    assertParity(web.json, nat.json);
    // Each payload once: sinks hold indices into outputs, and the JSON is about one copy of them.
    for (const r of [web.json, nat.json]) {
      for (const indices of Object.values(r.outputs_by_node)) assert.ok(indices.every((i) => Number.isInteger(i) && i < r.outputs.length), JSON.stringify(indices));
      const whole = JSON.stringify(r).length;
      const once = JSON.stringify(r.outputs).length;
      assert.ok(whole < once + 2000, `${manifest}: ${whole} bytes of JSON for ${once} bytes of outputs`);
    }
  });
}

test("the browser CLI fails with exit status 1, a clear message, and the native CLI's error JSON", () => {
  const missing = browser("run", "examples/pipelines/voice.json", "--input", "nope.wav");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read nope\.wav/);
  const args = ["run", "examples/pipelines/mixed.json", "--input", "examples/pipelines/numbers.json"];
  const web = browser(...args);
  assert.equal(web.code, 1);
  assert.equal(web.json.status, "error");
  assert.equal(web.json.error.kind, "node");
  assert.equal(web.json.error.name, "NodeError");
  assert.equal(web.json.error.node_id, "decode");
  // One error shape: the same JSON from both CLIs, field for field.
  const nat = nativeCli(...args);
  assert.equal(nat.code, 1);
  assert.deepEqual(web.json, nat.json);
  const invalid = { version: "v1", metadata: { name: "bad" }, nodes: [{ id: "x", node_type: "NoSuchNode" }] };
  const file = path.join(root, "target", "invalid-manifest.json");
  writeFileSync(file, JSON.stringify(invalid));
  const [webInvalid, natInvalid] = [browser("run", file), nativeCli("run", file)];
  assert.equal(webInvalid.json.error.kind, "manifest");
  assert.deepEqual(webInvalid.json, natInvalid.json);
  const usage = browser("frobnicate");
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /usage/);
});

test("remotemedia-web listen: the live path with a fake microphone, one JSON line per event, then a summary", () => {
  const r = spawnSync(process.execPath, ["js-sdk/bin/remotemedia-web.mjs", "listen", "examples/pipelines/live-voice.json", "--fake-mic", "node_modules/audio-lena/lena.wav", "--seconds", "3"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const summary = lines.pop().summary;
  assert.ok(lines.every((l) => typeof l.t === "number" && l.node === "speech" && typeof l.event === "string"), r.stdout.slice(0, 500));
  const frames = lines.filter((l) => l.event === "frame");
  assert.ok(frames.length >= 80, `${frames.length} frame events in 3 s`);
  assert.ok(lines.some((l) => l.event === "speech_start"));
  const end = lines.find((l) => l.event === "speech_end"); // stop() ends the utterance in progress
  assert.deepEqual(Object.keys(end.audio), ["frames", "sampleRate"]);
  assert.equal(summary.gaps, 0);
  assert.equal(summary.framesCaptured, summary.framesReceived);
  // Every frame from a capture step has a latency sample. The flush after stop() may add
  // up to two more (the resampler's and the 30 ms VAD's held-back tail), which came after
  // capture ended and so have none; how many depends on where stop() fell.
  assert.ok(summary.latencyMs.p50 > 0, JSON.stringify(summary.latencyMs));
  const unsampled = frames.length - summary.latencyMs.count;
  assert.ok(unsampled >= 0 && unsampled <= 2, `${frames.length} frames, ${summary.latencyMs.count} latency samples`);

  const missing = spawnSync(process.execPath, ["js-sdk/bin/remotemedia-web.mjs", "listen", "examples/pipelines/live-voice.json"], { cwd: root, encoding: "utf8" });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /listen needs --fake-mic FILE\.wav/);
});

test("the same bad input file gets the same answer from both CLIs; --help is help", () => {
  const file = path.join(root, "tests-web/artifacts/bad-envelope.json");
  writeFileSync(file, JSON.stringify({ __audio__: "yes", audio: { meta: { sample_rate: 16000, channels: 1 }, data: "AAAAAA==" } }));
  const web = browser("run", "examples/pipelines/calculator.json", "--input", file);
  const nat = nativeCli("run", "examples/pipelines/calculator.json", "--input", file);
  assert.equal(web.code, 1);
  assert.notEqual(nat.code, 0);
  const said = (stderr) => stderr.trim().split("\n").at(-1).replace(/^remotemedia(-web)?: (InputError: )?/, "");
  assert.equal(said(web.stderr), said(nat.stderr));
  assert.match(said(web.stderr), /\$\[0\]\.__audio__: envelope marker must be true$/);
  const help = spawnSync(process.execPath, ["js-sdk/bin/remotemedia-web.mjs", "--help"], { cwd: root, encoding: "utf8" });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage:\n {2}remotemedia-web --help/);
});
