// The live path (RemoteMedia.listen): Chromium's fake microphone plays the real
// audio-lena recording once; the capture worklet feeds a streaming session in an
// executor worker, and events come back to the page.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fakeMicrophoneFlags } from "../js-sdk/node/chromium.mjs";
import { createRemoteMedia, root, sdkPage, useBrowser } from "./helpers.mjs";

const LENA = path.join(root, "node_modules/audio-lena/lena.wav");
const LIVE = JSON.parse(readFileSync(path.join(root, "examples/pipelines/live-voice.json"), "utf8"));
const ctx = useBrowser({ args: fakeMicrophoneFlags(LENA) });
let page;

before(async () => {
  page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 2 });
});

/** Listens for `seconds` in the page; returns the events (audio as lengths) and the stats. */
async function listenFor(manifest, seconds, extra = "") {
  return page.evaluate(
    async ({ manifest, seconds, extra }) => {
      const events = [];
      const listener = await window.rm.listen(manifest, { onEvent: (e) => events.push(e.audio ? { ...e, audio: e.audio.length } : e) });
      const AsyncFunction = (async () => {}).constructor;
      if (extra) await new AsyncFunction("listener", "events", extra)(listener, events);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      await listener.stop();
      const stats = listener.stats();
      await listener.destroy();
      return { events, stats };
    },
    { manifest, seconds, extra },
  );
}

const speech = (events) => events.filter((e) => e.event === "speech_end").map((e) => [e.start, e.end]);

test("live events match a batch run of the same manifest on the same audio, within one VAD frame", async () => {
  const live = await listenFor(LIVE, 14);
  // The batch run gets the recording decoded at the capture's sample rate (the fake
  // microphone plays the file at the AudioContext's rate).
  const batch = await page.evaluate(
    async ({ manifest, rate }) => {
      const bytes = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
      const decode = { version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }, { id: "r", node_type: "FastResampleNode", params: { target_rate: rate } }], connections: [{ from: "d", to: "r" }] };
      const audio = (await window.rm.run(decode, [bytes])).outputs[0];
      const result = await window.rm.run(manifest, [audio]);
      return result.outputs.map((o) => (o.audio ? { ...o.metadata.speech_end, event: "speech_end", audio: o.audio.length } : o));
    },
    { manifest: LIVE, rate: live.stats.sampleRate },
  );
  // Stream time starts when capture starts, a little after the fake microphone began
  // playing the file: find that offset, in whole VAD frames, from the frames' levels.
  const liveFrames = live.events.filter((e) => e.event === "frame");
  const batchFrames = batch.filter((e) => e.event === "frame");
  let offset = 0;
  let best = Infinity;
  for (let k = 0; k <= 10; k++) {
    const n = Math.min(liveFrames.length, batchFrames.length - k);
    let diff = 0;
    for (let i = 0; i < n; i++) diff += Math.abs(liveFrames[i].level_db - batchFrames[i + k].level_db);
    if (diff / n < best) [best, offset] = [diff / n, k];
  }
  const shift = offset * 0.03;
  const liveSpeech = speech(live.events);
  const batchSpeech = speech(batch).map(([s, e]) => [s - shift, e - shift]);
  assert.ok(batchSpeech.length >= 1, "the recording has speech");
  assert.equal(liveSpeech.length, batchSpeech.length, `live ${JSON.stringify(liveSpeech)} vs batch ${JSON.stringify(batchSpeech)}`);
  for (const [i, [s, e]] of liveSpeech.entries()) {
    assert.ok(Math.abs(s - batchSpeech[i][0]) <= 0.0301 && Math.abs(e - batchSpeech[i][1]) <= 0.0301, `segment ${i}: live ${s}-${e}, batch ${batchSpeech[i]} (offset ${offset} frames)`);
  }
  const n = Math.min(liveFrames.length, batchFrames.length - offset);
  const same = liveFrames.slice(0, n).filter((f, i) => f.is_speech === batchFrames[i + offset].is_speech).length;
  assert.ok(n > 300 && same / n >= 0.95, `${same} of ${n} frame decisions agree (offset ${offset} frames)`);
  // Nothing lost on the way: every captured frame reached the executor, in order.
  assert.equal(live.stats.gaps + live.stats.repeats, 0);
  assert.equal(live.stats.framesCaptured, live.stats.framesReceived);
  const utterance = live.events.find((e) => e.event === "speech_end");
  assert.equal(utterance.sampleRate, 16000);
  assert.ok(utterance.audio > 16000, "the utterance carries its audio");
  console.log(`# live: ${liveSpeech.length} utterance(s) ${JSON.stringify(liveSpeech)}, batch ${JSON.stringify(batchSpeech)} (capture began ${offset} frame(s) into the file); ${same}/${n} frames agree; latency p50 ${live.stats.latencyMs.p50?.toFixed(1)} ms, p95 ${live.stats.latencyMs.p95?.toFixed(1)} ms`);
});

test("no frame is lost or repeated: frames captured = frames received = frames decided", async () => {
  const { events, stats } = await listenFor({ ...LIVE, nodes: LIVE.nodes.map((n) => (n.id === "speech" ? { ...n, params: { ...n.params, frame_events: true } } : n)) }, 5);
  assert.equal(stats.gaps, 0);
  assert.equal(stats.repeats, 0);
  assert.equal(stats.framesCaptured, stats.framesReceived);
  assert.ok(stats.seconds > 4.5, `${stats.seconds} s received in 5 s`);
  // Every 30 ms VAD frame of the audio received is decided, in order, none twice.
  const frames = events.filter((e) => e.event === "frame");
  frames.forEach((f, i) => assert.ok(Math.abs(f.start - i * 0.03) < 1e-9, `frame ${i} starts at ${f.start}`));
  // The resampler gives ceil(frames * 16000 / rate) samples; every whole 480-sample frame is decided.
  assert.equal(frames.length, Math.floor(Math.ceil((stats.framesReceived * 16000) / stats.sampleRate) / 480));
});

test("pause stops capture without advancing stream time; resume and stop continue it", async () => {
  const r = await page.evaluate(async (manifest) => {
    const listener = await window.rm.listen(manifest);
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    await wait(1500);
    listener.pause();
    // Chunks already in flight still arrive: wait until the count settles.
    let paused = -1;
    for (let i = 0; i < 20 && paused !== listener.stats().framesReceived; i++) {
      paused = listener.stats().framesReceived;
      await wait(300);
    }
    await wait(1000);
    const afterPause = listener.stats().framesReceived;
    const state = listener.state;
    listener.resume();
    await wait(1000);
    const resumed = listener.stats().framesReceived;
    const final = await listener.stop();
    const stats = listener.stats();
    await listener.destroy();
    return { paused, afterPause, resumed, state, final: final.map((e) => e.event), stats, destroyed: listener.state };
  }, LIVE);
  assert.equal(r.state, "paused");
  assert.equal(r.afterPause, r.paused, "no audio while paused");
  assert.ok(r.resumed > r.afterPause + 0.5 * r.stats.sampleRate, "audio again after resume");
  assert.equal(r.stats.state, "stopped");
  assert.equal(r.stats.framesCaptured, r.stats.framesReceived);
  assert.equal(r.destroyed, "destroyed");
});

test("two listeners at once get their own sessions and the same speech", async () => {
  const r = await page.evaluate(async (manifest) => {
    const starts = [[], []];
    const listeners = await Promise.all([0, 1].map((i) => window.rm.listen(manifest, { onEvent: (e) => e.event === "speech_start" && starts[i].push(e.start) })));
    await new Promise((r) => setTimeout(r, 4000));
    await Promise.all(listeners.map((l) => l.stop()));
    const stats = listeners.map((l) => l.stats());
    await Promise.all(listeners.map((l) => l.destroy()));
    return { starts, stats };
  }, LIVE);
  for (const s of r.stats) {
    assert.equal(s.gaps, 0);
    assert.equal(s.framesCaptured, s.framesReceived);
  }
  assert.ok(r.starts[0].length >= 1 && r.starts[1].length >= 1, JSON.stringify(r.starts));
});

test("destroy stops the microphone tracks and closes the AudioContext it opened; an app's stream stays", async () => {
  const r = await page.evaluate(async (manifest) => {
    const md = navigator.mediaDevices;
    const original = md.getUserMedia.bind(md);
    let opened = null;
    md.getUserMedia = async (c) => (opened = await original(c));
    try {
      const listener = await window.rm.listen(manifest);
      await new Promise((r) => setTimeout(r, 500));
      const context = listener.audioContext;
      await listener.destroy();
      const own = await original({ audio: true });
      const ctx = new AudioContext();
      const mine = await window.rm.listen(manifest, { stream: own, audioContext: ctx });
      await new Promise((r) => setTimeout(r, 300));
      await mine.destroy();
      const result = { tracks: opened.getTracks().map((t) => t.readyState), context: context.state, ownTracks: own.getTracks().map((t) => t.readyState), ownContext: ctx.state };
      own.getTracks().forEach((t) => t.stop());
      await ctx.close();
      const after = await window.rm.run({ version: "v1", metadata: { name: "m" }, nodes: [{ id: "m", node_type: "MultiplyNode" }] }, [2]);
      return { ...result, after: after.outputs };
    } finally {
      md.getUserMedia = original;
    }
  }, LIVE);
  assert.deepEqual(r.tracks, ["ended"]);
  assert.equal(r.context, "closed");
  assert.deepEqual(r.ownTracks, ["live"]);
  assert.equal(r.ownContext, "running");
  assert.deepEqual(r.after, [4]);
});

test("parameters change while listening; bad changes are typed errors and the session goes on", async () => {
  const strict = { ...LIVE, nodes: LIVE.nodes.map((n) => (n.id === "speech" ? { ...n, params: { ...n.params, min_speech_ms: 60000, max_utterance_ms: 60000, frame_events: false } } : n)) };
  const { events } = await listenFor(
    strict,
    4,
    `await new Promise((r) => setTimeout(r, 2000));
     events.push({ event: "marker", t: -1 });
     const bad = await listener.setParams("speech", { min_speech_ms: -5 }).catch((e) => e);
     events.push({ event: "bad", name: bad.name, path: bad.errors?.[0]?.path });
     const fixed = await listener.setParams("vad", { frame_duration_ms: 20 }).catch((e) => e);
     events.push({ event: "fixed", name: fixed.name });
     await listener.setParams("speech", { min_speech_ms: 100 });`,
  );
  const marker = events.findIndex((e) => e.event === "marker");
  assert.ok(marker >= 0);
  assert.equal(events.slice(0, marker).filter((e) => e.event === "speech_start").length, 0, "no utterance is 60 s long");
  assert.deepEqual(events.find((e) => e.event === "bad"), { event: "bad", name: "ManifestError", path: "nodes[2].params.min_speech_ms" });
  assert.equal(events.find((e) => e.event === "fixed").name, "ManifestError");
  assert.ok(events.slice(marker).some((e) => e.event === "speech_start"), "speech starts once min_speech_ms is 100");
});

test("a Python node in a live pipeline gets the speech events as they happen", async () => {
  const manifest = {
    ...LIVE,
    nodes: [
      ...LIVE.nodes.map((n) => (n.id === "speech" ? { ...n, params: { ...n.params, frame_events: false } } : n)),
      { id: "py", node_type: "Greeter", runtime_hint: "python" },
    ],
    connections: [...LIVE.connections, { from: "speech", to: "py" }],
    python: {
      modules: {
        greeter:
          "from remotemedia import Node\n\nclass Greeter(Node):\n    def process(self, data):\n        if isinstance(data, dict) and data.get('event') == 'speech_start':\n            return {'event': 'greeting', 'start': data['start'], 'text': 'hello at %.2f s' % data['start']}\n        return None\n",
      },
    },
  };
  const { events } = await listenFor(manifest, 4);
  const greeting = events.find((e) => e.event === "greeting");
  assert.ok(greeting, JSON.stringify(events.slice(0, 5)));
  assert.equal(greeting.node, "py");
  assert.match(greeting.text, /^hello at \d+\.\d\d s$/);
});
