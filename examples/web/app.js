// The demo page: pick an example and an input, edit the manifest, run it in the
// browser's workers, and see the result, timings and a waveform with speech segments.
import { RemoteMedia, registerServiceWorker, cacheStatus } from "/js-sdk/dist/index.js";
import { setupLive } from "./live.js";

const EXAMPLES = {
  "voice-python": { label: "Voice activity + Python stats (default)", input: "audio" },
  voice: { label: "Voice activity and levels (Rust only)", input: "audio" },
  "voice-silero": { label: "Silero VAD and levels (robust in noise)", input: "audio" },
  mixed: { label: "Mixed: Rust -> Python normalise -> Rust levels", input: "audio" },
  utterances: { label: "Utterances and Whisper log-mel", input: "audio" },
  text: { label: "Text fragments -> sentences", input: "text-input.json" },
  calculator: { label: "Calculator with fan-out", input: "numbers.json" },
};
const SAMPLE = "/node_modules/audio-lena/lena.wav";
const DECODE = { version: "v1", metadata: { name: "waveform" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }] };

const $ = (id) => document.getElementById(id);
const state = { audioBytes: null, audioName: "", jsonInput: null, rm: null };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "status error" : "status";
}

async function loadExample(name) {
  const manifest = await (await fetch(`/examples/pipelines/${name}.json`)).json();
  $("manifest").value = JSON.stringify(manifest, null, 2);
  const input = EXAMPLES[name].input;
  state.jsonInput = input === "audio" ? null : await (await fetch(`/examples/pipelines/${input}`)).json();
  describeInput();
}

function describeInput() {
  const parts = [];
  if (state.audioBytes) parts.push(`audio: ${state.audioName} (${(state.audioBytes.length / 1024).toFixed(0)} KiB)`);
  if (state.jsonInput) parts.push(`JSON input: ${JSON.stringify(state.jsonInput)}`);
  $("input-info").textContent = parts.length ? parts.join(" | ") : "No input yet: choose a file or use the sample recording.";
}

async function setAudio(bytes, name) {
  state.audioBytes = bytes;
  state.audioName = name;
  describeInput();
  try {
    const decoded = await state.rm.run(DECODE, [bytes]);
    drawWave(decoded.outputs[0], []);
  } catch (err) {
    setStatus(`could not decode ${name}: ${err.message}`, true);
  }
}

function drawWave(audio, segments) {
  state.wave = audio;
  const canvas = $("wave");
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.fillStyle = "#0f172a";
  ctx.fillRect(0, 0, width, height);
  if (!audio?.audio) return;
  const channels = audio.channels ?? 1;
  const frames = audio.audio.length / channels;
  const seconds = frames / audio.sampleRate;
  ctx.fillStyle = "rgba(34, 197, 94, 0.28)";
  for (const s of segments) ctx.fillRect((s.start_s / seconds) * width, 0, ((s.end_s - s.start_s) / seconds) * width, height);
  ctx.strokeStyle = "#93c5fd";
  ctx.beginPath();
  const per = Math.max(1, Math.floor(frames / width));
  for (let x = 0; x < width; x++) {
    let lo = 0, hi = 0;
    for (let f = x * per; f < Math.min(frames, (x + 1) * per); f++) {
      const v = audio.audio[f * channels];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    ctx.moveTo(x + 0.5, height / 2 - hi * (height / 2));
    ctx.lineTo(x + 0.5, height / 2 - lo * (height / 2) + 1);
  }
  ctx.stroke();
}

/** Speech segments anywhere in the outputs: VAD metadata on audio, or a `segments` field. */
function findSegments(outputs) {
  for (const o of outputs) {
    const segs = o?.metadata?.vad?.segments ?? (Array.isArray(o?.segments) ? o.segments : null);
    if (segs) return segs;
  }
  return [];
}

function summarise(value) {
  return JSON.stringify(value, (_k, v) => (ArrayBuffer.isView(v) ? `<${v.constructor.name} of ${v.length}>` : v), 2);
}

async function run() {
  let manifest;
  try {
    manifest = JSON.parse($("manifest").value);
  } catch (err) {
    setStatus(`The manifest is not valid JSON: ${err.message}`, true);
    return;
  }
  // With a server given, the manifest's `vad` node runs there (its `host`; docs/remote.md).
  const server = $("server").value.trim();
  if (server) manifest = { ...manifest, nodes: manifest.nodes.map((n) => (n.id === "vad" ? { ...n, host: server } : n)) };
  const inputs = state.jsonInput ?? (state.audioBytes ? [state.audioBytes] : []);
  $("run").disabled = true;
  setStatus("Running...");
  const t0 = performance.now();
  try {
    const result = await state.rm.run(manifest, inputs, { timeoutMs: 120_000 });
    const ms = performance.now() - t0;
    setStatus(`Done in ${ms.toFixed(0)} ms (${result.outputs.length} output item(s)).`);
    const body = $("timings").querySelector("tbody");
    body.innerHTML = "";
    for (const id of result.graph_info.execution_order) {
      const m = result.metrics.nodes[id];
      const row = document.createElement("tr");
      row.innerHTML = `<td>${id}</td><td>${m.items_in}</td><td>${m.items_out}</td><td>${m.time_ms.toFixed(1)}</td>`;
      body.appendChild(row);
    }
    const segments = findSegments(result.outputs);
    if (state.wave) drawWave(state.wave, segments);
    $("segments").textContent = segments.length
      ? `${segments.length} speech segment(s): ${segments.map((s) => `${s.start_s.toFixed(2)}-${s.end_s.toFixed(2)} s`).join(", ")}`
      : "";
    $("result").textContent = summarise(result.outputs_by_node);
    document.body.dataset.lastRun = "ok";
  } catch (err) {
    const details = err.errors ? `\n${err.errors.map((e) => `${e.path}: ${e.message}`).join("\n")}` : err.traceback ? `\n${err.traceback}` : "";
    setStatus(`${err.name}: ${err.message}${details}`, true);
    document.body.dataset.lastRun = "error";
  } finally {
    $("run").disabled = false;
  }
}

/** The page's own files, cached by the service worker so the demo also starts offline. */
const APP_FILES = [
  // The SDK's own module (the runtime's files are cached by the service worker itself).
  "/js-sdk/dist/index.js",
  "/examples/web/index.html",
  "/examples/web/app.js",
  "/examples/web/live.js",
  "/examples/pipelines/live-voice.json",
  "/examples/pipelines/live-voice-silero.json",
  "/examples/web/style.css",
  SAMPLE,
  ...Object.keys(EXAMPLES).map((name) => `/examples/pipelines/${name}.json`),
  "/examples/pipelines/text-input.json",
  "/examples/pipelines/numbers.json",
];

async function showCache() {
  const status = await cacheStatus();
  const current = status.caches.find((c) => c.current);
  $("cache").textContent = current
    ? `Offline cache: ${current.entries} files, ${(current.bytes / 2 ** 20).toFixed(1)} MiB (build ${status.build.version}-${status.build.hash}).`
    : "Offline cache: empty.";
}

async function main() {
  for (const [name, { label }] of Object.entries(EXAMPLES)) $("example").add(new Option(label, name));
  try {
    await registerServiceWorker({ scope: "/", precache: APP_FILES });
  } catch (err) {
    console.warn(`service worker not registered: ${err.message}`);
  }
  $("example").onchange = () => loadExample($("example").value);
  await loadExample("voice-python");
  state.rm = await RemoteMedia.create({
    onProgress: (e) => setStatus(`${e.component}: ${e.stage} (${e.elapsedMs.toFixed(0)} ms)`),
  });
  setStatus(`Ready: ${state.rm.capabilities().workers} executor worker(s). Python starts on the first run that needs it.`);
  $("run").disabled = false;
  $("run").onclick = run;
  setupLive(state.rm);
  $("lena").onclick = async () => setAudio(new Uint8Array(await (await fetch(SAMPLE)).arrayBuffer()), "lena.wav");
  $("file").onchange = async () => {
    const file = $("file").files[0];
    if (file) setAudio(new Uint8Array(await file.arrayBuffer()), file.name);
  };
  const drop = $("drop");
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add("over");
  };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) setAudio(new Uint8Array(await file.arrayBuffer()), file.name);
  };
  await showCache().catch(() => {});
  document.body.dataset.ready = "true";
}

main().catch((err) => setStatus(`Could not start: ${err.message}`, true));
