// SileroVADNode in the browser: the model file is fetched only for manifests that use
// the node, once per RemoteMedia instance, and given to every executor worker; the
// per-window probabilities equal the native CLI's; a model that cannot be fetched is an
// AssetError that the next run recovers from; and live capture gives speech events.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fakeMicrophoneFlags } from "../js-sdk/node/chromium.mjs";
import { createRemoteMedia, root, sdkPage, useBrowser } from "./helpers.mjs";

const LENA = path.join(root, "node_modules/audio-lena/lena.wav");
const example = (name) => JSON.parse(readFileSync(path.join(root, "examples/pipelines", name), "utf8"));
const VOICE = example("voice.json");
const SILERO = example("voice-silero.json");
const LIVE = example("live-voice-silero.json");
// Every window's decision, for comparing with the native CLI.
const FRAMES = structuredClone(SILERO);
FRAMES.nodes.find((n) => n.id === "vad").params.include_metadata = true;
const native = process.env.REMOTEMEDIA_CLI ?? path.join(root, "target/release/remotemedia");

const ctx = useBrowser({ args: fakeMicrophoneFlags(LENA) });
let page;
const modelRequests = [];

before(async () => {
  page = await sdkPage(ctx);
  page.on("request", (r) => {
    if (r.url().includes("silero_vad_v6.onnx")) modelRequests.push(r.url());
  });
  await createRemoteMedia(page, { workers: 2 });
});

/** Runs `manifest` on the recording in the page: the vad node's first output's metadata. */
function runOnLena(manifest) {
  return page.evaluate(async (manifest) => {
    const bytes = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    try {
      const r = await window.rm.run(manifest, [bytes]);
      return { vad: r.outputs_by_node.vad[0].metadata.vad };
    } catch (e) {
      return { error: { name: e.name, kind: e.kind, message: e.message } };
    }
  }, manifest);
}

test("the model is fetched only for manifests that use the node, once, and serves every worker", async () => {
  const plain = await runOnLena(VOICE);
  assert.ok(plain.vad.segments.length > 0);
  assert.equal(modelRequests.length, 0, "a manifest without SileroVADNode fetched the model");
  // Two runs at once land on both workers; the file is fetched once.
  const [a, b] = await Promise.all([runOnLena(SILERO), runOnLena(SILERO)]);
  assert.equal(modelRequests.length, 1, modelRequests.join("\n"));
  assert.ok(a.vad.segments.length >= 2, JSON.stringify(a));
  assert.deepEqual(a.vad.segments, b.vad.segments);
  assert.equal(a.vad.model, "silero_vad_v6");
  const report = await page.evaluate((m) => window.rm.validate(m), SILERO);
  assert.deepEqual(report.models, ["silero_vad_v6.onnx"]);
});

test("every window's probability and decision equal the native CLI's", async () => {
  const web = await runOnLena(FRAMES);
  const file = path.join(root, "target/silero-frames.json");
  writeFileSync(file, JSON.stringify(FRAMES));
  const r = spawnSync(native, ["run", file, "--input", LENA], { cwd: root, encoding: "utf8", maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  const nat = result.outputs[result.outputs_by_node.vad[0]].audio.meta.metadata.vad;
  assert.equal(web.vad.frames.length, nat.frames.length);
  assert.ok(web.vad.frames.length > 350, `${web.vad.frames.length} windows`);
  let worst = 0;
  web.vad.frames.forEach((f, i) => {
    const n = nat.frames[i];
    assert.equal(f.start_sample, n.start_sample);
    worst = Math.max(worst, Math.abs(f.score - n.score));
  });
  // Scores are rounded to 3 decimals; the resampler's SIMD FFT and each platform's exp and
  // tanh differ in the last bits, which may flip one rounding.
  assert.ok(worst <= 0.001 + 1e-9, `probabilities differ by up to ${worst}`);
  assert.deepEqual(web.vad.segments, nat.segments);
});

test("a model that cannot be fetched is an AssetError; the next run fetches it again", async () => {
  await page.evaluate(async () => {
    window.rm2 = await window.sdk.RemoteMedia.create({ workers: 1 });
  });
  await page.route("**/silero_vad_v6.onnx*", (route) => route.fulfill({ status: 404, contentType: "text/html", body: "<!doctype html><p>not here" }));
  const failed = await page.evaluate(async (m) => {
    try {
      await window.rm2.run(m, [new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer())]);
      return null;
    } catch (e) {
      return { name: e.name, kind: e.kind, message: e.message };
    }
  }, SILERO);
  assert.equal(failed?.kind, "asset", JSON.stringify(failed));
  assert.match(failed.message, /silero_vad_v6\.onnx/);
  await page.unroute("**/silero_vad_v6.onnx*");
  const ok = await page.evaluate(async (m) => {
    const r = await window.rm2.run(m, [new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer())]);
    await window.rm2.terminate();
    return r.outputs_by_node.vad[0].metadata.vad.segments.length;
  }, SILERO);
  assert.ok(ok >= 2, `${ok} segments`);
});

test("live: the fake microphone through live-voice-silero.json gives speech events every 32 ms window, and streams speech_chunk audio before speech_end", async () => {
  // The utterance's audio as it is spoken: speech_chunk events every 200 ms of it.
  const manifest = structuredClone(LIVE);
  manifest.nodes.find((n) => n.id === "speech").params.speech_chunk_ms = 200;
  const { events, stats } = await page.evaluate(async (manifest) => {
    const events = [];
    const listener = await window.rm.listen(manifest, { onEvent: (e) => events.push(e.audio ? { ...e, audio: e.audio.length } : e) });
    await new Promise((r) => setTimeout(r, 8000));
    await listener.stop();
    const stats = listener.stats();
    await listener.destroy();
    return { events, stats };
  }, manifest);
  const frames = events.filter((e) => e.event === "frame");
  assert.ok(frames.length >= 200, `${frames.length} frame events in 8 s`);
  const step = frames[1].end - frames[0].end;
  assert.ok(Math.abs(step - 0.032) < 1e-6, `frames ${step} s apart`);
  assert.ok(events.some((e) => e.event === "speech_start"), JSON.stringify(events.filter((e) => e.event !== "frame")));
  const end = events.findIndex((e) => e.event === "speech_end");
  assert.ok(end > 0, "no speech_end");
  const chunks = events.slice(0, end).filter((e) => e.event === "speech_chunk");
  assert.ok(chunks.length >= 2, `${chunks.length} speech_chunk events before the first speech_end`);
  assert.ok(chunks.every((c, i) => c.index === i && c.audio > 0), JSON.stringify(chunks.slice(0, 3)));
  // Contiguous: each chunk starts where the one before ended.
  for (let i = 1; i < chunks.length; i++) assert.ok(Math.abs(chunks[i].audio_start - chunks[i - 1].end) < 1e-9, JSON.stringify(chunks.slice(i - 1, i + 1)));
  assert.equal(stats.gaps, 0);
});
