// Parallel runs on the pool, isolation of node state, and streaming sessions.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRemoteMedia, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();
let page;

before(async () => {
  page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 2 });
});

test("two runs at once go to different workers and never share node state", async () => {
  const r = await page.evaluate(async () => {
    const voice = await (await fetch("/examples/pipelines/voice.json")).json();
    const echo = { version: "v1", metadata: { name: "echo" }, nodes: [{ id: "e", node_type: "Echo" }] };
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const [a, b] = await Promise.all([window.rm.run(voice, [wav]), window.rm.run(voice, [wav])]);
    const [c, d] = await Promise.all([window.rm.run(echo, ["x", "y"]), window.rm.run(echo, ["z"])]);
    return {
      workers: [a.worker, b.worker, c.worker, d.worker],
      segmentsEqual: JSON.stringify(a.outputs_by_node.vad[0].metadata) === JSON.stringify(b.outputs_by_node.vad[0].metadata),
      counters: [c.outputs.map((o) => o.counter), d.outputs.map((o) => o.counter)],
    };
  });
  assert.notEqual(r.workers[0], r.workers[1], "the two audio runs shared a worker");
  assert.notEqual(r.workers[2], r.workers[3]);
  assert.ok(r.segmentsEqual);
  assert.deepEqual(r.counters, [[1, 2], [1]]);
});

test("a session streams microphone-sized chunks and matches the batch result", async () => {
  const r = await page.evaluate(async () => {
    const { RemoteMedia } = window.sdk;
    const decode = { version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }] };
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const audio = (await window.rm.run(decode, [wav])).outputs[0];
    const manifest = {
      version: "v1",
      metadata: { name: "stream" },
      nodes: [
        { id: "resample", node_type: "FastResampleNode", params: { target_rate: 16000 } },
        { id: "vad", node_type: "VoiceActivityDetector", params: { include_metadata: true } },
      ],
      connections: [{ from: "resample", to: "vad" }],
    };
    const batch = await window.rm.run(manifest, [audio]);
    const session = await window.rm.open(manifest);
    const seen = [];
    const reader = (async () => {
      for await (const o of session.outputs) seen.push(o);
    })();
    const chunk = 4410; // 100 ms at 44.1 kHz
    let pushedOutputs = 0;
    for (let i = 0; i < audio.audio.length; i += chunk) {
      const out = await session.push({ audio: audio.audio.slice(i, i + chunk), sampleRate: audio.sampleRate });
      pushedOutputs += out.length;
    }
    await session.close();
    await reader;
    const frames = (items) => items.flatMap((o) => o.metadata.vad.frames.map((f) => `${f.start_sample}:${f.is_speech}`));
    const samples = (items) => items.reduce((n, o) => n + o.audio.length, 0);
    return {
      outputs: seen.length,
      pushedOutputs,
      sameFrames: JSON.stringify(frames(seen.map((s) => s.data))) === JSON.stringify(frames(batch.outputs)),
      streamSamples: samples(seen.map((s) => s.data)),
      batchSamples: samples(batch.outputs),
      closedPush: await session.push("x").catch((e) => e.message),
    };
  });
  assert.ok(r.outputs > 100, `${r.outputs} streamed outputs`);
  assert.ok(r.pushedOutputs > 100);
  assert.ok(r.sameFrames, "streamed VAD decisions differ from the batch run");
  assert.equal(r.streamSamples, r.batchSamples);
  assert.match(r.closedPush, /closed/);
});

test("capabilities say what the browser offers", async () => {
  const caps = await page.evaluate(() => window.rm.capabilities());
  assert.equal(caps.workers, 2);
  assert.equal(caps.moduleWorkers, true);
  assert.equal(caps.wasmSimd, true);
  assert.equal(caps.crossOriginIsolated, false);
  assert.equal(caps.transport, "transfer");
});

test("transferred buffers and base64 envelopes give identical results", async () => {
  const r = await page.evaluate(async () => {
    const voice = await (await fetch("/examples/pipelines/utterances.json")).json();
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const b64 = await window.sdk.RemoteMedia.create({ workers: 1, transport: "base64" });
    const a = await b64.run(voice, [wav]);
    const b = await window.rm.run(voice, [wav]);
    await b64.terminate();
    const same = a.outputs.length === b.outputs.length && a.outputs.every((t, i) => t.tensor.length === b.outputs[i].tensor.length && t.tensor.every((v, j) => v === b.outputs[i].tensor[j]));
    // The caller's input is copied, never detached by the transfer.
    return { same, count: a.outputs.length, inputIntact: wav.byteLength > 1_000_000 };
  });
  assert.ok(r.count >= 2);
  assert.ok(r.same, "tensors differ between transports");
  assert.ok(r.inputIntact, "the caller's buffer was detached");
});
