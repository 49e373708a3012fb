// In-browser benchmarks, each against its floor or the alternative a web developer
// would use, measured in the same page. Every figure: median of `reps` repetitions
// after a warm-up, with min and max. Driven by bench/run.mjs.
import { RemoteMedia } from "/js-sdk/dist/index.js";

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], n: s.length };
}

/** Median (min, max) milliseconds of `fn` over `reps` runs after one warm-up run. */
async function time(reps, fn) {
  await fn();
  const t = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return stats(t);
}

const scale = (s, k) => ({ median: s.median * k, min: s.min * k, max: s.max * k, n: s.n });

function echoWorker() {
  const w = new Worker("/bench/echo-worker.js");
  let next = 0;
  const waiting = new Map();
  w.onmessage = (e) => {
    waiting.get(e.data.id)(e.data.payload);
    waiting.delete(e.data.id);
  };
  return {
    call(payload, transfer = false) {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        w.postMessage({ id, payload, transfer }, transfer && payload?.buffer ? [payload.buffer] : []);
      });
    },
    terminate: () => w.terminate(),
  };
}

const PASS = { version: "v1", metadata: { name: "pass" }, nodes: [{ id: "p", node_type: "PassThrough" }] };

async function lena() {
  return new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
}

/**
 * 1. Call overhead: a one-node PassThrough on a small item vs a bare echo worker, in
 * steady state: after `warmupCalls` calls of each (a new worker's JavaScript and
 * WebAssembly are compiled to their optimised tiers only after some hundreds of calls;
 * one block of 200 calls left the SDK at twice its steady-state time). `cold` is the
 * first block of `calls` on a new RemoteMedia, for comparison. The measured blocks of
 * the two take turns, so both see the same machine.
 */
export async function overhead({ reps, calls, warmupCalls }) {
  const rm = await RemoteMedia.create({ workers: 1 });
  const echo = echoWorker();
  // `n` calls of `call`, one after the other.
  const blockOf = (call) => async (n) => {
    for (let i = 0; i < n; i++) await call(i);
  };
  const sdkBlock = blockOf((i) => rm.run(PASS, [i]));
  const echoBlock = blockOf((i) => echo.call(i));
  const t0 = performance.now();
  await sdkBlock(calls);
  const cold = (performance.now() - t0) / calls;
  await sdkBlock(warmupCalls);
  await echoBlock(warmupCalls);
  const sdk = [];
  const floor = [];
  for (let r = 0; r < reps; r++) {
    for (const [block, into] of r % 2 ? [[echoBlock, floor], [sdkBlock, sdk]] : [[sdkBlock, sdk], [echoBlock, floor]]) {
      const start = performance.now();
      await block(calls);
      into.push((performance.now() - start) / calls);
    }
  }
  await rm.terminate();
  echo.terminate();
  const s = stats(sdk);
  const f = stats(floor);
  return { sdk: s, floor: f, ratio: s.median / f.median, cold };
}

/**
 * 1b. Main-thread time to validate 10k-node manifests (synchronous on the page): a valid
 * chain, and one whose 10k connections all dangle (at most 1000 problems listed).
 */
export async function bigManifest({ reps }) {
  const rm = await RemoteMedia.create({ workers: 1 });
  const nodes = Array.from({ length: 10000 }, (_, i) => ({ id: `n${i}`, node_type: "PassThrough" }));
  const valid = { version: "v1", metadata: { name: "chain" }, nodes, connections: nodes.slice(1).map((_, i) => ({ from: `n${i}`, to: `n${i + 1}` })) };
  const dangling = { version: "v1", metadata: { name: "dangling" }, nodes, connections: nodes.map((_, i) => ({ from: `n${i}`, to: `missing${i}` })) };
  const out = { valid: await time(reps, () => rm.validate(valid)), dangling: await time(reps, () => rm.validate(dangling)) };
  await rm.terminate();
  return out;
}

/**
 * 2. Float32 transport through PassThrough, base64 and transfer, against the floors:
 * memcpy into an existing buffer, a structured-clone echo and a transfer echo. A clone
 * round trip makes four copies into freshly allocated memory (serialize and deserialize,
 * each way), and filling fresh memory costs more than the copy itself; a transfer round
 * trip costs the same for 10 MB as for 1 KB (`freshCopy` and `transferEcho1k` show both).
 */
export async function transport({ reps, sizesMb }) {
  const out = [];
  const b64 = await RemoteMedia.create({ workers: 1, transport: "base64" });
  const tr = await RemoteMedia.create({ workers: 1, transport: "transfer" });
  const echo = echoWorker();
  let small = new Float32Array(256);
  const transferEcho1k = await time(reps, async () => {
    small = await echo.call(small, true);
  });
  for (const mb of sizesMb) {
    const n = (mb * 1e6) / 4;
    const audio = new Float32Array(n).map((_, i) => Math.sin(i * 0.001));
    const item = { audio, sampleRate: 48000 };
    const gbps = (s) => ({ ...s, gbps: mb / 1000 / (s.median / 1000) });
    const dst = new Float32Array(n);
    const copies = Math.max(1, Math.round(100 / mb)); // many copies per sample: 1 MB takes < 1 timer tick
    const memcpy = scale(await time(reps, () => {
      for (let i = 0; i < copies; i++) dst.set(audio);
    }), 1 / copies);
    const freshCopy = await time(reps, () => audio.slice());
    const clone = await time(reps, () => echo.call(audio));
    let moving = audio.slice();
    const transferEcho = await time(reps, async () => {
      moving = await echo.call(moving, true);
    });
    const viaBase64 = await time(reps, () => b64.run(PASS, [item]));
    const viaTransfer = await time(reps, () => tr.run(PASS, [item]));
    // transferInputs: the page's buffer moves out and (recycled by the worker) back.
    let looping = { audio: audio.slice(), sampleRate: 48000 };
    const viaTransferDetach = await time(reps, async () => {
      const r = await tr.run(PASS, [looping], { transferInputs: true });
      looping = { audio: r.outputs[0].audio, sampleRate: 48000 };
    });
    out.push({
      mb,
      memcpy: gbps(memcpy),
      freshCopy: gbps(freshCopy),
      cloneEcho: gbps(clone),
      transferEcho: gbps(transferEcho),
      transferEcho1k,
      base64: gbps(viaBase64),
      transfer: gbps(viaTransfer),
      transferDetach: gbps(viaTransferDetach),
      transferVsClone: viaTransfer.median / clone.median,
    });
  }
  await b64.terminate();
  await tr.terminate();
  echo.terminate();
  return out;
}

/** 3. Audio throughput: decode, resample, VAD and levels over long audio; and the resampler vs wave-resampler. */
export async function throughput({ reps, url, seconds: actual }) {
  // The long recording is written by bench/run.mjs, which feeds the same file to the native CLI.
  const wav = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const voice = await (await fetch("/examples/pipelines/voice.json")).json();
  const rm = await RemoteMedia.create({ workers: 1 });
  const executorMs = [];
  const pipeline = await time(reps, async () => executorMs.push((await rm.run(voice, [wav])).metrics.total_ms));
  const decoded = (await rm.run({ version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }] }, [wav])).outputs[0];
  const resample = { version: "v1", metadata: { name: "r" }, nodes: [{ id: "r", node_type: "FastResampleNode", params: { target_rate: 16000 } }] };
  const ours = await time(reps, () => rm.run(resample, [decoded]));
  const oursMetric = (await rm.run(resample, [decoded])).metrics.nodes.r.time_ms;
  await rm.terminate();
  // wave-resampler runs on the main thread, as a page would use it; float64 in and out.
  const samples = Float64Array.from(decoded.audio);
  const js = await time(Math.max(1, Math.min(reps, 3)), () => window.waveResampler.resample(samples, 44100, 16000));
  const jsSinc = await time(1, () => window.waveResampler.resample(samples, 44100, 16000, { method: "sinc" }));
  const rt = (ms) => actual / (ms / 1000);
  return {
    seconds: actual,
    wavBytes: wav.length,
    pipeline: { ...pipeline, realTime: rt(pipeline.median), executor: stats(executorMs.slice(1)) },
    resampleNode: { ...ours, realTime: rt(ours.median), nodeOnlyRealTime: rt(oursMetric) },
    waveResamplerCubic: { ...js, realTime: rt(js.median) },
    waveResamplerSinc: { ...jsSinc, realTime: rt(jsSinc.median) },
  };
}

/** 4. Python node calls through the SDK vs a bare Pyodide call in one worker. */
export async function python({ reps, items }) {
  const rm = await RemoteMedia.create({ workers: 1, python: true });
  const manifest = {
    version: "v1",
    metadata: { name: "py" },
    nodes: [{ id: "id", node_type: "Identity", runtime_hint: "python" }],
    python: { modules: { ident: "from remotemedia import Node\nclass Identity(Node):\n    def process(self, data):\n        return data\n" } },
  };
  const inputs = Array.from({ length: items }, (_, i) => ({ n: i }));
  const perRun = await time(reps, () => rm.run(manifest, inputs));
  await rm.terminate();
  const floorWorker = new Worker("/bench/pyodide-floor-worker.js", { type: "module" });
  const floor = await new Promise((resolve) => {
    floorWorker.onmessage = (e) => resolve(e.data.perCallMs);
    floorWorker.postMessage({ indexURL: new URL("/node_modules/pyodide/", location.href).href, calls: 2000 });
  });
  floorWorker.terminate();
  const perItem = scale(perRun, 1 / items);
  return { perItem, floorPerCall: floor, ratio: perItem.median / floor };
}

/** 6. Scaling: 8 independent audio runs on 1 worker vs a pool of hardwareConcurrency workers. */
export async function scaling({ reps, runs }) {
  const voice = await (await fetch("/examples/pipelines/voice.json")).json();
  const wav = await lena();
  const cores = navigator.hardwareConcurrency || 2;
  const one = await RemoteMedia.create({ workers: 1 });
  const pool = await RemoteMedia.create({ workers: cores });
  const batch = (rm) => Promise.all(Array.from({ length: runs }, () => rm.run(voice, [wav])));
  const t1 = await time(reps, () => batch(one));
  const tn = await time(reps, () => batch(pool));
  await one.terminate();
  await pool.terminate();
  return { cores, runs, oneWorker: t1, pool: tn, speedup: t1.median / tn.median, target: 0.85 * cores };
}

/**
 * 8. Soak, in steps driven by bench/run.mjs (which reads the renderer's resident memory,
 * where the workers' WebAssembly memory lives, between steps): one instance with Python
 * started; each `soakStep` makes `runs` small Rust runs and `pythonRuns` runs of
 * one-node Python manifests, then reports ms per call and memory. The Python runs cycle
 * through three manifests (each with its own interpreter), and the first of each step
 * is a manifest never seen before, as apps that generate manifests make: its
 * interpreter starts and, from the second step on, the previous new one is stopped to
 * make room (`pythonInterpreters`, default 4), so the soak also shows whether stopped
 * interpreters give their memory back. Memory, after a garbage collection: the JS
 * heaps of the page, the executor workers and the Python worker
 * (`performance.measureUserAgentSpecificMemory`, on the cross-origin isolated page run.mjs
 * opens for this), or the page's heap alone (`performance.memory`) elsewhere.
 */
let soaking = null;

async function memoryMiB() {
  const mib = (bytes) => bytes / 2 ** 20;
  if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) {
    return { page: mib(performance.memory?.usedJSHeapSize ?? 0), executors: null, python: null };
  }
  const m = await performance.measureUserAgentSpecificMemory();
  const sum = (match) => mib(m.breakdown.filter((b) => b.attribution.some((a) => match(a.url ?? ""))).reduce((n, b) => n + b.bytes, 0));
  return { page: sum((u) => u.endsWith(".html")), executors: sum((u) => u.includes("executor-worker")), python: sum((u) => u.includes("python-worker")) };
}

const PYTHON_ECHO = (i) => ({
  version: "v1",
  metadata: { name: `py-${i}` },
  nodes: [{ id: "e", node_type: "Echo", runtime_hint: "python" }],
  python: { modules: { [`echo_${i}`]: `from remotemedia import Node\nclass Echo(Node):\n    def process(self, data):\n        return data  # ${i}\n` } },
});

/** Python manifests the soak cycles through (with the step's new one, 4 interpreters). */
const SOAK_MANIFESTS = 3;

export async function soakStart() {
  soaking = { rm: await RemoteMedia.create({ workers: 2, python: true }), fresh: SOAK_MANIFESTS };
  for (let m = 0; m < SOAK_MANIFESTS; m++) await soaking.rm.run(PYTHON_ECHO(m), [0]);
  return memoryMiB();
}

export async function soakStep({ runs, pythonRuns }) {
  const { rm } = soaking;
  let t0 = performance.now();
  for (let i = 0; i < runs; i++) await rm.run(PASS, [i]);
  const msPerRun = (performance.now() - t0) / Math.max(1, runs);
  t0 = performance.now();
  for (let i = 0; i < pythonRuns; i++) await rm.run(PYTHON_ECHO(i === 0 ? soaking.fresh++ : i % SOAK_MANIFESTS), [i]);
  const msPerPythonRun = (performance.now() - t0) / Math.max(1, pythonRuns);
  return { msPerRun, msPerPythonRun, memoryMiB: await memoryMiB() };
}

export async function soakPushes({ pushes }) {
  const session = await soaking.rm.open({ version: "v1", metadata: { name: "echo" }, nodes: [{ id: "e", node_type: "Echo" }] });
  const t0 = performance.now();
  for (let i = 0; i < pushes; i++) await session.push(i);
  const pushMs = (performance.now() - t0) / pushes;
  await session.close();
  return { pushMs, memoryMiB: await memoryMiB() };
}

export async function soakEnd() {
  await soaking?.rm.terminate();
  soaking = null;
}

/**
 * 9a. Live path: `seconds` of the fake microphone (bench/run.mjs starts Chromium with it
 * playing the long recording) through `RemoteMedia.listen` and `pipeline`
 * (examples/pipelines/, default live-voice.json): frame
 * event latency (capture of a VAD frame's last sample to its event on the page), frames
 * lost or repeated, and main-thread time per second of audio.
 */
export async function live({ seconds, pipeline = "live-voice.json" }) {
  const rm = await RemoteMedia.create({ workers: 1 });
  const manifest = await (await fetch(`/examples/pipelines/${pipeline}`)).json();
  let events = 0;
  const listener = await rm.listen(manifest, { onEvent: () => events++ });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await listener.stop();
  const s = listener.stats();
  await listener.destroy();
  await rm.terminate();
  return { ...s, events, mainThreadMsPerSecond: s.mainThreadMs / s.seconds };
}

/**
 * 9b. Live capacity of one executor worker: the same capture path (AudioWorklet ->
 * executor worker -> pushAudio) fed by an OfflineAudioContext, which renders as fast
 * as it can: seconds of audio processed per second of wall time, i.e. how many
 * real-time streams one worker keeps up with.
 */
export async function liveCapacity({ seconds, pipeline = "live-voice.json" }) {
  const rm = await RemoteMedia.create({ workers: 1 });
  const manifest = await (await fetch(`/examples/pipelines/${pipeline}`)).json();
  const decoded = (await rm.run({ version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }] }, [await lena()])).outputs[0];
  const rate = decoded.sampleRate;
  const frames = Math.round(seconds * rate);
  const offline = new OfflineAudioContext(1, frames, rate);
  const buffer = offline.createBuffer(1, frames, rate);
  const channel = buffer.getChannelData(0);
  for (let at = 0; at < frames; at += decoded.audio.length) channel.set(decoded.audio.subarray(0, Math.min(decoded.audio.length, frames - at)), at);
  const source = offline.createBufferSource();
  source.buffer = buffer;
  source.start();
  const listener = await rm.listen(manifest, { source, chunkMs: 10 });
  const t0 = performance.now();
  await offline.startRendering();
  await listener.stop();
  const wallMs = performance.now() - t0;
  const s = listener.stats();
  await listener.destroy();
  await rm.terminate();
  return { seconds: s.seconds, wallMs, steps: s.steps, streams: s.seconds / (wallMs / 1000), gaps: s.gaps, repeats: s.repeats, framesCaptured: s.framesCaptured, framesReceived: s.framesReceived };
}
