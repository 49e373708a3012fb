// Audio recorded by the browser itself: MediaRecorder records Chromium's fake
// microphone (the real recording) as WebM/Opus, and that Blob goes through rm.run and
// session.push in the page and, saved to a file, through the native CLI. The decoded
// audio and the voice pipeline's VAD segments must agree between the two, and the
// decode must have the frames and samples of ffmpeg's own (libopus) decode.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { useBrowser, sdkPage, createRemoteMedia, root, artifacts } from "./helpers.mjs";
import { fakeMicrophoneFlags } from "../js-sdk/node/chromium.mjs";

const LENA = path.join(root, "node_modules/audio-lena/lena.wav");
const VOICE = JSON.parse(readFileSync(path.join(root, "examples/pipelines/voice.json"), "utf8"));
const DECODE = { version: "v1", metadata: { name: "decode" }, nodes: [{ id: "decode", node_type: "AudioDecoderNode" }] };
const native = process.env.REMOTEMEDIA_CLI ?? path.join(root, "target/release/remotemedia");

const ctx = useBrowser({ args: fakeMicrophoneFlags(LENA) });
let page;
let recording; // { mimeType, bytes (base64), browser: { frames, sampleRate, channels, samples (base64), segments } }


before(async () => {
  page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 1 });
  recording = await page.evaluate(
    async ({ voice, decode }) => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const mimeType = "audio/webm;codecs=opus";
      const recorder = new MediaRecorder(stream, { mimeType });
      const chunks = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      const stopped = new Promise((resolve) => (recorder.onstop = resolve));
      recorder.start(1000);
      await new Promise((r) => setTimeout(r, 8000));
      recorder.stop();
      await stopped;
      for (const track of stream.getTracks()) track.stop();
      const blob = new Blob(chunks, { type: recorder.mimeType });
      // A Blob and a File, as MediaRecorder and <input type=file> give them.
      const started = performance.now();
      const decoded = (await window.rm.run(decode, [blob])).outputs[0];
      const decodeMs = performance.now() - started;
      const viaFile = (await window.rm.run(decode, [new File([blob], "voice-note.webm", { type: blob.type })])).outputs[0];
      const voiceResult = await window.rm.run(voice, [blob]);
      const vad = voiceResult.outputs_by_node.vad[0];
      // A session gets the Blob too, in order with the items pushed after it.
      const session = await window.rm.open(voice);
      const pushed = await session.push(blob);
      const closing = await session.close();
      // Segments still open when the pushed item ends are reported by close().
      const sessionVad = [...pushed, ...closing].filter((o) => o.nodeId === "vad").map((o) => o.data);
      const bytes = new Uint8Array(await blob.arrayBuffer());
      const b64 = (u8) => {
        let s = "";
        for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
        return btoa(s);
      };
      const same = (a, b) => a.audio.length === b.audio.length && a.audio.every((x, i) => x === b.audio[i]);
      return {
        mimeType: recorder.mimeType,
        bytes: b64(bytes),
        browser: {
          decodeMs,
          frames: decoded.audio.length / decoded.channels,
          sampleRate: decoded.sampleRate,
          channels: decoded.channels,
          samples: b64(new Uint8Array(decoded.audio.buffer, decoded.audio.byteOffset, decoded.audio.byteLength)),
          fileSameAsBlob: same(decoded, viaFile),
          segments: vad.metadata.vad.segments.map((s) => [s.start_s, s.end_s]),
          sessionSegments: sessionVad.flatMap((a) => a.metadata.vad.segments.map((s) => [s.start_s, s.end_s])),
        },
      };
    },
    { voice: VOICE, decode: DECODE },
  );
  writeFileSync(path.join(artifacts, "recorded-chromium.webm"), Buffer.from(recording.bytes, "base64"));
});

const floats = (b64) => {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
};

function nativeRun(manifest, input) {
  const file = path.join(artifacts, `${manifest.metadata.name}.manifest.json`);
  writeFileSync(file, JSON.stringify(manifest));
  const r = spawnSync(native, ["run", file, "--input", input], { cwd: root, encoding: "utf8", maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("Chromium's MediaRecorder WebM/Opus decodes in the page from a Blob and a File", () => {
  assert.match(recording.mimeType, /^audio\/webm/);
  const b = recording.browser;
  assert.equal(b.sampleRate, 48000);
  assert.ok(b.frames > 5 * 48000, `${b.frames} frames from an 8 s recording`);
  assert.ok(b.fileSameAsBlob, "a File gives the same audio as its Blob");
  assert.ok(b.segments.length >= 2, `speech found in the recording: ${JSON.stringify(b.segments)}`);
  assert.deepEqual(b.sessionSegments, b.segments, "session.push(blob) gives the run's segments");
});

test("the recorded file gives the same audio and segments natively, and ffmpeg's frames", () => {
  const file = path.join(artifacts, "recorded-chromium.webm");
  const decoded = nativeRun(DECODE, file).outputs[0].audio;
  const b = recording.browser;
  assert.equal(decoded.meta.sample_rate, b.sampleRate);
  assert.equal(decoded.meta.frames, b.frames, "native and browser decode the same frames");
  const x = floats(decoded.data);
  const y = floats(b.samples);
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  assert.ok(max < 1e-5, `native and browser samples differ by up to ${max}`);
  const voice = nativeRun(VOICE, file);
  const vad = voice.outputs[voice.outputs_by_node.vad[0]].audio.meta.metadata.vad;
  assert.deepEqual(vad.segments.map((s) => [s.start_s, s.end_s]), b.segments);
  // ffmpeg's decode with libopus: the same number of frames, and the same samples.
  const ff = spawnSync("ffmpeg", ["-nostdin", "-loglevel", "error", "-c:a", "libopus", "-i", file, "-f", "f32le", "-"], { maxBuffer: 256 << 20 });
  assert.equal(ff.status, 0, String(ff.stderr));
  const ref = new Float32Array(ff.stdout.buffer.slice(ff.stdout.byteOffset, ff.stdout.byteOffset + ff.stdout.length));
  assert.equal(ref.length, x.length, "ffmpeg decodes as many samples");
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    signal += ref[i] * ref[i];
    noise += (ref[i] - x[i]) ** 2;
  }
  const snr = 10 * Math.log10(signal / Math.max(noise, 1e-30));
  const speed = b.frames / b.sampleRate / (b.decodeMs / 1000);
  console.log(`recorded WebM/Opus: ${b.frames} frames at ${b.sampleRate} Hz x${b.channels}, SNR ${snr.toFixed(1)} dB against libopus, ${b.segments.length} segments, decoded in the page at ${speed.toFixed(0)}x real time (printed, not asserted)`);
  assert.ok(snr > 60, `SNR ${snr.toFixed(1)} dB against libopus`);
});

test("every container and codec decodes in the page as it does natively", async () => {
  // The files crates/runtime/tests/formats.rs made with ffmpeg (cargo test runs first).
  const dir = path.join(root, "target/audio-fixtures");
  const files = readdirSync(dir).filter((f) => !f.startsWith("tmp-") && !/^(ac3|eac3|video-only)\./.test(f));
  assert.ok(files.length >= 20, `fixtures in ${dir}: ${files.length}`);
  const speeds = [];
  for (const file of files) {
    const page_ = await page.evaluate(
      async ({ url, decode }) => {
        const blob = await (await fetch(url)).blob();
        const started = performance.now();
        const a = (await window.rm.run(decode, [blob])).outputs[0];
        const ms = performance.now() - started;
        const u8 = new Uint8Array(a.audio.buffer, a.audio.byteOffset, a.audio.byteLength);
        let s = "";
        for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
        return { sampleRate: a.sampleRate, channels: a.channels, samples: btoa(s), ms };
      },
      { url: `/target/audio-fixtures/${file}`, decode: DECODE },
    );
    const native = nativeRun(DECODE, path.join(dir, file)).outputs[0].audio;
    assert.equal(page_.sampleRate, native.meta.sample_rate, file);
    assert.equal(page_.channels, native.meta.channels, file);
    const x = floats(native.data);
    const y = floats(page_.samples);
    assert.equal(y.length, x.length, `${file}: sample counts`);
    let max = 0;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
    assert.ok(max < 1e-5, `${file}: page and native differ by up to ${max}`);
    speeds.push(`${file} ${(x.length / page_.channels / page_.sampleRate / (page_.ms / 1000)).toFixed(0)}x`);
  }
  console.log(`decoded in the page (x real time, run included; printed, not asserted): ${speeds.join(", ")}`);
});

test("damaged files that once panicked a decoder fail cleanly in the worker, which stays", async () => {
  // crates/runtime/tests/fuzz-corpus: an ADTS file whose max_sfb runs past the band
  // table and a CAF whose ALAC frame is longer than its configuration (symphonia 0.5
  // indexed out of bounds on both, and a panic aborts a wasm worker).
  const dir = path.join(root, "crates/runtime/tests/fuzz-corpus");
  const files = readdirSync(dir).filter((f) => !f.endsWith(".json"));
  assert.ok(files.length >= 2, `audio files in ${dir}: ${files.length}`);
  const started = [];
  const onWorker = (w) => started.push(w.url());
  page.on("worker", onWorker);
  try {
    for (const file of files) {
      const r = await page.evaluate(
        async ({ url, decode }) => {
          const blob = await (await fetch(url)).blob();
          try {
            const a = (await window.rm.run(decode, [blob])).outputs[0];
            return { frames: a.audio.length / a.channels };
          } catch (e) {
            return { error: `${e.name}: ${e.message}` };
          }
        },
        { url: `/crates/runtime/tests/fuzz-corpus/${file}`, decode: DECODE },
      );
      if (r.error) {
        assert.match(r.error, /^NodeError: /, file);
        assert.doesNotMatch(r.error, /panicked|decoder failed|crashed/, `${file}: ${r.error}`);
      }
    }
  } finally {
    page.off("worker", onWorker);
  }
  assert.deepEqual(started, [], "no executor worker was replaced");
});
