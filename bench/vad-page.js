// In-browser VAD benchmarks (driven by bench/vad.mjs): Silero VAD per 32 ms window in
// the executor worker, and @ricky0123/vad-web's own Silero inference with the same model
// file (onnxruntime-web on the main thread, as vad-web runs it) on the same audio.
import { RemoteMedia } from "/js-sdk/dist/index.js";

const MODEL = "/node_modules/@ricky0123/vad-web/dist/silero_vad_v6.onnx";

/** `seconds` of the recording, looped, at 16 kHz mono, decoded and resampled by the SDK. */
async function audio16k(rm, seconds) {
  const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
  const manifest = { version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }, { id: "r", node_type: "FastResampleNode", params: { target_rate: 16000 } }], connections: [{ from: "d", to: "r" }] };
  const one = (await rm.run(manifest, [wav])).outputs[0].audio;
  const out = new Float32Array(seconds * 16000);
  for (let at = 0; at < out.length; at += one.length) out.set(one.subarray(0, Math.min(one.length, out.length - at)), at);
  return out;
}

/**
 * Per-window time of `node` (SileroVADNode or VoiceActivityDetector) in one executor
 * worker: the node's own time (the run's metrics) over `seconds` of audio, median of
 * `reps` runs; and the main thread's time per run.
 */
export async function workerWindows({ seconds, reps, node }) {
  const rm = await RemoteMedia.create({ workers: 1 });
  const samples = await audio16k(rm, seconds);
  const manifest = { version: "v1", metadata: { name: "v" }, nodes: [{ id: "v", node_type: node, params: { include_metadata: false } }] };
  const nodeMs = [];
  for (let i = 0; i <= reps; i++) {
    const r = await rm.run(manifest, [{ audio: samples.slice(), sampleRate: 16000, channels: 1 }]);
    if (i > 0) nodeMs.push(r.metrics.nodes.v.time_ms); // the first run warms up
  }
  await rm.terminate();
  nodeMs.sort((a, b) => a - b);
  const windows = Math.ceil(samples.length / 512);
  return { node, seconds, windows, nodeMs: nodeMs[Math.floor(nodeMs.length / 2)], perWindowMs: nodeMs[Math.floor(nodeMs.length / 2)] / windows };
}

/**
 * vad-web 0.0.31's Silero v5/v6 inference over the same audio, with the same model file:
 * its frame code (`dist/models/silero.js`: 512 samples after the 64-sample context, the
 * state tensor carried, `session.run` of onnxruntime-web 1.31's single-threaded wasm
 * backend) on the main thread, where vad-web runs it (MicVAD does; NonRealTimeVAD only
 * runs the legacy model). All of it is main-thread time. Median of `reps` runs after a
 * warm-up.
 */
export async function vadWeb({ seconds, reps }) {
  const rm = await RemoteMedia.create({ workers: 1 });
  const samples = await audio16k(rm, seconds);
  await rm.terminate();
  const { ort } = globalThis;
  ort.env.wasm.wasmPaths = "/node_modules/onnxruntime-web/dist/";
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(new Uint8Array(await (await fetch(MODEL)).arrayBuffer()));
  const sr = new ort.Tensor("int64", [16000n]);
  const pass = async () => {
    let state = new ort.Tensor("float32", new Float32Array(2 * 128), [2, 1, 128]);
    let context = new Float32Array(64);
    let speech = 0;
    for (let at = 0; at + 512 <= samples.length; at += 512) {
      const frame = samples.subarray(at, at + 512);
      const input = new Float32Array(64 + 512);
      input.set(context, 0);
      input.set(frame, 64);
      context = frame.slice(-64);
      const out = await session.run({ input: new ort.Tensor("float32", input, [1, input.length]), state, sr });
      state = out.stateN;
      if (out.output.data[0] >= 0.5) speech++;
    }
    return speech;
  };
  const ms = [];
  let speechWindows = 0;
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    speechWindows = await pass();
    if (i > 0) ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)];
  const windows = Math.floor(samples.length / 512);
  return { seconds, windows, speechWindows, mainThreadMs: median, perWindowMs: median / windows, mainThreadMsPerSecond: median / seconds };
}
