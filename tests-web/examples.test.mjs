// Every example pipeline through the real SDK and workers in Chromium.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRemoteMedia, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();
let page;

before(async () => {
  page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 2 });
});

/** Runs examples/pipelines/NAME.json on the recording or a JSON input file, in the page. */
function runExample(name, input) {
  return page.evaluate(
    async ({ name, input }) => {
      const manifest = await (await fetch(`/examples/pipelines/${name}.json`)).json();
      const inputs =
        input === "audio"
          ? [new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer())]
          : await (await fetch(`/examples/pipelines/${input}`)).json();
      const r = await window.rm.run(manifest, inputs);
      // Typed arrays do not survive the trip back to Node: summarise audio and tensors.
      const brief = (o) =>
        o?.audio instanceof Float32Array
          ? { frames: o.audio.length / o.channels, sampleRate: o.sampleRate, metadata: o.metadata ?? {} }
          : o?.tensor
            ? { shape: o.shape, dtype: o.dtype, finite: o.tensor.every(Number.isFinite) }
            : o;
      return { ...r, outputs: r.outputs.map(brief), outputs_by_node: Object.fromEntries(Object.entries(r.outputs_by_node).map(([k, v]) => [k, v.map(brief)])) };
    },
    { name, input },
  );
}

test("voice.json finds speech segments and levels in the recording", async () => {
  const r = await runExample("voice", "audio");
  const vad = r.outputs_by_node.vad[0];
  assert.equal(vad.sampleRate, 16000);
  assert.equal(vad.frames, 196348);
  const segments = vad.metadata.vad.segments;
  assert.ok(segments.length >= 3, JSON.stringify(segments));
  assert.ok(segments[0].start_s > 0.15, "the recording starts with room noise");
  assert.ok(r.outputs_by_node.levels[0].rms_db < -10 && r.outputs_by_node.levels[0].rms_db > -30);
  assert.deepEqual(r.graph_info.execution_order, ["decode", "resample", "vad", "levels"]);
});

test("voice-python.json (the default demo) runs the Python SpeechStats node", async () => {
  const r = await runExample("voice-python", "audio");
  const stats = r.outputs_by_node.stats[0];
  assert.equal(stats.frames, 196348);
  assert.equal(stats.sample_rate, 16000);
  assert.equal(stats.speech_segments, stats.segments.length);
  assert.ok(stats.speech_ratio > 0.5 && stats.speech_ratio < 1, String(stats.speech_ratio));
  assert.equal(r.metrics.nodes.stats.items_in, 1);
});

test("mixed.json passes audio Rust -> Python -> Rust", async () => {
  const r = await runExample("mixed", "audio");
  const before = r.outputs_by_node.levels_before[0];
  const after = r.outputs_by_node.levels_after[0];
  // The Python node normalised the peak to 0.5 (-6.02 dBFS); Rust measured it.
  assert.ok(Math.abs(after.peak_db - -6.02) < 0.02, JSON.stringify(after));
  assert.ok(Math.abs(after.rms_db - before.rms_db - (-6.02 - before.peak_db)) < 0.05);
});

test("utterances.json gives utterances and Whisper-shaped log-mel tensors", async () => {
  const r = await runExample("utterances", "audio");
  assert.ok(r.outputs.length >= 2, `${r.outputs.length} utterances`);
  for (const t of r.outputs) {
    assert.equal(t.dtype, "float32");
    assert.equal(t.shape[0], 80);
    assert.ok(t.shape[1] >= 30, `utterance of ${t.shape[1]} frames`);
    assert.ok(t.finite);
  }
});

test("text.json collects sentences across fragments", async () => {
  const r = await runExample("text", "text-input.json");
  assert.deepEqual(r.outputs.map((o) => o.input), ["Hello world.", "This is RemoteMedia in the browser!", "Does it stream?", "Yes"]);
  assert.deepEqual(r.outputs.map((o) => o.counter), [1, 2, 3, 4]);
});

test("calculator.json fans out and keeps integers whole", async () => {
  const r = await runExample("calculator", "numbers.json");
  assert.deepEqual(r.outputs_by_node, { half: [2, 4.25, 11], double: [6, 15, 42] });
});
