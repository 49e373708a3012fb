// Failures: typed errors with everything a developer needs, and a pool that keeps working.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRemoteMedia, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();
let page;

before(async () => {
  page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 2 });
});

const BOOM = {
  version: "v1",
  metadata: { name: "boom" },
  nodes: [
    { id: "double", node_type: "MultiplyNode", params: { factor: 2 } },
    { id: "checker", node_type: "Checker", runtime_hint: "python" },
  ],
  connections: [{ from: "double", to: "checker" }],
  python: {
    modules: {
      checks: "from remotemedia import Node\n\nclass Checker(Node):\n    def process(self, data):\n        if data > 10:\n            raise ValueError(f'{data} is too large')\n        return {'ok': data}\n",
    },
  },
};

test("a Python exception is a NodeError with the traceback, and the next run succeeds", async () => {
  const r = await page.evaluate(async (manifest) => {
    const err = await window.rm.run(manifest, [3, 50]).catch((e) => e);
    const next = await window.rm.run(manifest, [4]);
    return {
      name: err.name,
      isNodeError: err instanceof window.sdk.NodeError,
      nodeId: err.nodeId,
      nodeType: err.nodeType,
      language: err.language,
      detail: err.detail,
      traceback: err.traceback,
      next: next.outputs,
    };
  }, BOOM);
  assert.equal(r.name, "NodeError");
  assert.ok(r.isNodeError);
  assert.deepEqual([r.nodeId, r.nodeType, r.language], ["checker", "Checker", "python"]);
  assert.equal(r.detail, "ValueError: 100 is too large");
  assert.match(r.traceback, /Traceback \(most recent call last\)/);
  assert.match(r.traceback, /line 6, in process/);
  assert.deepEqual(r.next, [{ ok: 8 }]);
});

test("an invalid manifest lists every problem with its path, without running", async () => {
  const r = await page.evaluate(async () => {
    const manifest = {
      version: "v1",
      metadata: { name: "bad" },
      nodes: [
        { id: "a", node_type: "FastResampleNode", params: { target_rate: "16k" } },
        { id: "a", node_type: "VoiceActivityDetecter" },
        { id: "c", node_type: "PassThrough" },
      ],
      connections: [{ from: "c", to: "ghost" }, { from: "c", to: "c" }],
    };
    const sync = window.rm.validate(manifest);
    const err = await window.rm.run(manifest, [1]).catch((e) => e);
    return { sync, name: err.name, isManifestError: err instanceof window.sdk.ManifestError, errors: err.errors, message: err.message };
  });
  assert.equal(r.sync.valid, false);
  assert.equal(r.name, "ManifestError");
  assert.ok(r.isManifestError);
  const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e.message]));
  assert.match(byPath["nodes[0].params.target_rate"], /expected number, got string/);
  assert.match(byPath["nodes[1].id"], /duplicate id "a"/);
  assert.match(byPath["nodes[1].node_type"], /VoiceActivityDetector/);
  assert.match(byPath["connections[0].to"], /ghost/);
  assert.match(byPath.connections, /cycle: c -> c/);
  assert.equal(r.errors.length, 5, JSON.stringify(r.errors));
  assert.deepEqual(r.sync.errors, r.errors);
});

test("bad inputs are InputErrors; a Rust node error names the node", async () => {
  const r = await page.evaluate(async () => {
    const pass = { version: "v1", metadata: { name: "p" }, nodes: [{ id: "calc", node_type: "CalculatorNode", params: { operation: "add", operand: 1 } }] };
    const input = await window.rm.run(pass, [{ audio: new Float32Array(3), sampleRate: 16000, channels: 2 }]).catch((e) => e);
    const envelope = await window.rm.run(pass, [{ __audio__: true, audio: { meta: { sample_rate: 1, channels: 1 }, data: "@@" } }]).catch((e) => e);
    const node = await window.rm.run(pass, [{ operation: "divide", args: [1, 0] }]).catch((e) => e);
    return [input.name, input.message, envelope.name, envelope.message, node.name, node.nodeId, node.language];
  });
  assert.equal(r[0], "InputError");
  assert.match(r[1], /2-channel frames/);
  assert.equal(r[2], "InputError");
  assert.match(r[3], /\$\[0\]\.audio\.data: malformed base64/);
  assert.deepEqual(r.slice(4), ["NodeError", "calc", "rust"]);
});

test("NaN in a manifest or an input is refused by name, not sent as null", async () => {
  const r = await page.evaluate(async () => {
    const calc = (operand) => ({ version: "v1", metadata: { name: "p" }, nodes: [{ id: "calc", node_type: "CalculatorNode", params: { operation: "add", operand } }] });
    const param = await window.rm.run(calc(NaN), [1]).catch((e) => e);
    const input = await window.rm.run(calc(1), [Infinity]).catch((e) => e);
    const fine = await window.rm.run({ ...calc(2), python: undefined }, [1]);
    return [param.name, param.message, input.name, input.message, fine.outputs];
  });
  assert.equal(r[0], "ManifestError");
  assert.match(r[1], /NaN is not a finite number/);
  assert.equal(r[2], "InputError");
  assert.match(r[3], /inf is not a finite number/);
  assert.deepEqual(r[4], [3]);
});

test("abort and timeout reject with typed errors and the pool keeps working", async () => {
  const r = await page.evaluate(async () => {
    const manifest = await (await fetch("/examples/pipelines/utterances.json")).json();
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const controller = new AbortController();
    const aborted = window.rm.run(manifest, [wav, wav, wav, wav], { signal: controller.signal }).catch((e) => e);
    setTimeout(() => controller.abort(), 5);
    const timedOut = await window.rm.run(manifest, [wav, wav, wav, wav], { timeoutMs: 5 }).catch((e) => e);
    const abortErr = await aborted;
    const after = await window.rm.run({ version: "v1", metadata: { name: "ok" }, nodes: [{ id: "x", node_type: "AddNode", params: { addend: 1 } }] }, [41]);
    const pre = new AbortController();
    pre.abort();
    const early = await window.rm.run(manifest, [wav], { signal: pre.signal }).catch((e) => e);
    return [abortErr.name, timedOut.name, timedOut.message, after.outputs, early.name, window.rm.capabilities().workers];
  });
  assert.equal(r[0], "AbortError");
  assert.equal(r[1], "TimeoutError");
  assert.match(r[2], /5 ms/);
  assert.deepEqual(r[3], [42]);
  assert.equal(r[4], "AbortError");
  assert.equal(r[5], 2);
});

test("a Python package that cannot be loaded fails the run with a NodeError naming it", async () => {
  const page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 1 });
  const r = await page.evaluate(async () => {
    const manifest = {
      version: "v1",
      metadata: { name: "pkg" },
      nodes: [{ id: "t", node_type: "TextProcessorNode" }],
      python: { packages: ["numpy"] }, // not in the shipped Pyodide core
    };
    const failed = await window.rm.run(manifest, ["x"]).then(
      () => null,
      (e) => ({ name: e.name, message: e.message, language: e.language }),
    );
    const after = await window.rm.run({ ...manifest, python: undefined }, ["ok"]);
    return { failed, after: after.outputs[0].results.uppercase };
  });
  assert.equal(r.failed?.name, "NodeError", JSON.stringify(r.failed));
  assert.equal(r.failed.language, "python");
  assert.match(r.failed.message, /could not load Python packages numpy/);
  assert.equal(r.after, "OK");
});

test("every bad JavaScript value is a typed rejection, never a TypeError", async () => {
  const r = await page.evaluate(async () => {
    const sdk = window.sdk;
    const ok = { version: "v1", metadata: { name: "m" }, nodes: [{ id: "m", node_type: "MultiplyNode" }] };
    const circular = { version: "v1", metadata: { name: "c" }, nodes: [] };
    circular.self = circular;
    const detached = new Float32Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const big = { ...ok, nodes: [{ id: "m", node_type: "MultiplyNode", params: { factor: 10n } }] };
    const attempt = async (f) => {
      try {
        await f();
        return "resolved";
      } catch (e) {
        return e instanceof sdk.RemoteMediaError ? e.name : `untyped ${e?.name}: ${e?.message}`;
      }
    };
    const rm = window.rm;
    const out = {
      circular: await attempt(() => rm.run(circular, [1])),
      undefinedManifest: await attempt(() => rm.run(undefined, [1])),
      stringInputs: await attempt(() => rm.run(ok, "12")),
      fakeSignal: await attempt(() => rm.run(ok, [1], { signal: {} })),
      badTimeout: await attempt(() => rm.run(ok, [1], { timeoutMs: "soon" })),
      detached: await attempt(() => rm.run(ok, [{ audio: detached, sampleRate: 16000 }])),
      bigint: await attempt(() => rm.run(big, [1])),
      // .rmpkg bytes: detached, empty, not a zip.
      detachedPackage: await attempt(() => rm.run(detached.buffer, [1])),
      emptyPackage: await attempt(() => rm.run(new Uint8Array(0), [1])),
      notAZip: await attempt(() => rm.run(new TextEncoder().encode("{}"), [1])),
    };
    // A run racing terminate(), on an instance of its own.
    const other = await sdk.RemoteMedia.create({ workers: 1 });
    const racing = attempt(() => other.run(ok, [1]));
    await other.terminate();
    out.racingTerminate = await racing;
    out.afterTerminate = await attempt(() => other.run(ok, [1]));
    return out;
  });
  for (const [what, outcome] of Object.entries(r)) assert.ok(!outcome.startsWith("untyped"), `${what}: ${outcome}`);
  assert.equal(r.circular, "ManifestError");
  assert.equal(r.undefinedManifest, "ManifestError");
  assert.equal(r.stringInputs, "InputError");
  assert.equal(r.detached, "InputError");
  assert.equal(r.detachedPackage, "ManifestError");
  assert.equal(r.emptyPackage, "ManifestError");
  assert.equal(r.notAZip, "ManifestError");
  assert.equal(r.afterTerminate, "RemoteMediaError");
});

test("limits are the instance's own: a decode over maxOutputValues is a NodeError, params over maxFrames are invalid", async () => {
  const r = await page.evaluate(async () => {
    const { RemoteMedia } = window.sdk;
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const voice = await (await fetch("/examples/pipelines/voice.json")).json();
    const strict = await RemoteMedia.create({ workers: 1, python: false, limits: { maxFrames: 1000, maxOutputValues: 100000 } });
    const err = await strict.run(voice, [wav]).catch((e) => e);
    const chunker = { version: "v1", metadata: { name: "c" }, nodes: [{ id: "c", node_type: "AudioChunkerNode", params: { chunk_size: 2048 } }] };
    const strictReport = strict.validate(chunker);
    const runErr = await strict.run(chunker, [{ samples: new Float32Array(4), sampleRate: 16000 }]).catch((e) => e);
    await strict.terminate();
    const bad = [];
    for (const limits of [{ maxFrames: 0 }, { maxOutputValues: 2 ** 40 }, { maxFrame: 5 }, { maxFrames: "1k" }, 7]) {
      const e = await RemoteMedia.create({ workers: 1, python: false, limits }).catch((e) => e);
      bad.push([e?.name, e?.message]);
    }
    return {
      err: [err.name, err.nodeId, err.message],
      strict: strictReport.errors,
      lenient: window.rm.validate(chunker).valid,
      runErr: [runErr.name, runErr.message],
      defaultRun: (await window.rm.run(voice, [wav])).outputs.length,
      bad,
    };
  });
  assert.deepEqual(r.err.slice(0, 2), ["NodeError", "decode"]);
  assert.match(r.err[2], /more than 100000 samples \(the limit max_output_values/);
  assert.deepEqual(r.strict, [{ path: "nodes[0].params.chunk_size", message: "must be 1 to 1000 frames" }]);
  assert.equal(r.lenient, true);
  assert.equal(r.runErr[0], "ManifestError");
  assert.equal(r.defaultRun, 2);
  assert.deepEqual(r.bad.map(([name]) => name), Array(5).fill("RemoteMediaError"));
  assert.match(r.bad[0][1], /options\.limits\.maxFrames must be 1 to 1073741824, got 0/);
  assert.match(r.bad[1][1], /options\.limits\.maxOutputValues must be 1 to 536870912/);
  assert.match(r.bad[2][1], /limits\.maxFrame is not a limit/);
  assert.match(r.bad[3][1], /options\.limits must be an object/);
  assert.match(r.bad[4][1], /options\.limits must be an object/);
});
