// `npm run bench:vad [-- --quick]`: the voice activity detectors, measured.
//
// - per 32 ms window (512 samples at 16 kHz): SileroVADNode natively (the release CLI;
//   the node's own time from the run's metrics) and in Chromium's executor worker, beside
//   VoiceActivityDetector (earshot), and @ricky0123/vad-web's own Silero inference with the
//   same model in the same Chromium (onnxruntime-web, on the main thread, as vad-web runs it);
// - live: the fake microphone through listen() and live-voice-silero.json: window event
//   latency, main-thread time per second of audio, and how many real-time streams one
//   executor worker keeps (offline-rendered capture);
// - quality in noise: the noisy-speech corpus (crates/runtime/tests/common/corpus.rs),
//   both nodes, by the runtime's ignored test `full_noise_table` in a release build.
//
// Writes bench/results/vad{,-quick}.{json,md} (and vad-noise.{json,md}, full runs only).
// --quick (npm test) uses a few seconds of audio to prove the harness runs.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync } from "node:zlib";
import { serve } from "../js-sdk/node/server.mjs";
import { fakeMicrophoneFlags, launch } from "../js-sdk/node/chromium.mjs";
import { nativeCli } from "./common.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const cfg = quick ? { seconds: 10, reps: 1, liveSeconds: 4, capacitySeconds: 10 } : { seconds: 120, reps: 5, liveSeconds: 60, capacitySeconds: 300 };
const log = (m) => console.error(`[bench:vad] ${m}`);

/** The recording looped to `seconds` at `rate` Hz mono, by ffmpeg, made once. */
function loopedWav(seconds, rate) {
  const dir = path.join(root, "target/bench-audio");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `lena-${seconds}s-${rate}.wav`);
  if (!existsSync(file)) {
    const r = spawnSync("ffmpeg", ["-v", "error", "-y", "-stream_loop", "-1", "-i", path.join(root, "node_modules/audio-lena/lena.wav"), "-t", String(seconds), "-ar", String(rate), "-ac", "1", file], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`ffmpeg failed making ${file}`);
  }
  return file;
}

/** Per-window time of `node` natively: its own time in the run's metrics, median of reps. */
function nativeWindows(node, file) {
  const manifest = path.join(root, "target/bench-audio", `one-${node}.json`);
  writeFileSync(manifest, JSON.stringify({ version: "v1", metadata: { name: "v" }, nodes: [{ id: "decode", node_type: "AudioDecoderNode" }, { id: "v", node_type: node, params: { include_metadata: false } }], connections: [{ from: "decode", to: "v" }] }));
  const ms = [];
  let samples = 0;
  for (let i = 0; i <= cfg.reps; i++) {
    const r = spawnSync(nativeCli(root, quick), ["run", manifest, "--input", file], { cwd: root, encoding: "utf8", maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`native CLI failed: ${r.stderr.slice(-2000)}`);
    const result = JSON.parse(r.stdout);
    samples = result.outputs[result.outputs_by_node.v[0]].audio.meta.frames;
    if (i > 0) ms.push(result.metrics.nodes.v.time_ms);
  }
  ms.sort((a, b) => a - b);
  const windows = Math.ceil(samples / 512);
  const nodeMs = ms[Math.floor(ms.length / 2)];
  return { node, windows, nodeMs, perWindowMs: nodeMs / windows };
}

const out = { date: new Date().toISOString(), quick, config: cfg, machine: { cores: cpus().length, cpu: cpus()[0]?.model } };
const file16k = loopedWav(cfg.seconds, 16000);
log("native, per window");
out.native = ["SileroVADNode", "VoiceActivityDetector"].map((node) => nativeWindows(node, file16k));

const server = await serve(root);
// The fake microphone plays the recording looped (48 kHz) for the live figures.
const mic = loopedWav(cfg.liveSeconds + 5, 48000);
const browser = await launch(fakeMicrophoneFlags(mic));
try {
  out.machine.browser = `Chromium ${browser.version()}`;
  const page = await browser.newPage();
  page.on("pageerror", (e) => log(`page error: ${e.message}`));
  await page.goto(`${server.url}/bench/vad.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  const inPage = (name, arg) => page.evaluate(({ name, arg }) => window.benchmarks[name](arg), { name, arg });
  log("executor worker, per window");
  out.worker = [];
  for (const node of ["SileroVADNode", "VoiceActivityDetector"]) out.worker.push(await inPage("workerWindows", { seconds: cfg.seconds, reps: cfg.reps, node }));
  log("vad-web, same model, main thread");
  out.vadWeb = await inPage("vadWeb", { seconds: cfg.seconds, reps: cfg.reps });
  log(`live: ${cfg.liveSeconds} s of fake microphone through live-voice-silero.json, then capacity`);
  out.live = await inPage("live", { seconds: cfg.liveSeconds, pipeline: "live-voice-silero.json" });
  out.liveCapacity = await inPage("liveCapacity", { seconds: cfg.capacitySeconds, pipeline: "live-voice-silero.json" });
} finally {
  await browser.close();
  await server.close();
}
const wasm = readFileSync(path.join(root, "js-sdk/dist/remotemedia_worker_bg.wasm"));
out.wasm = { bytes: wasm.length, brotli: brotliCompressSync(wasm).length };

if (!quick) {
  log("quality in noise (cargo test --release ... full_noise_table)");
  const r = spawnSync("cargo", ["test", "--release", "-q", "-p", "remotemedia-runtime", "--test", "silero", "full_noise_table", "--", "--ignored"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("the noise table failed");
  out.noise = JSON.parse(readFileSync(path.join(root, "bench/results/vad-noise.json"), "utf8"));
}

const f = (x, d = 2) => (x === undefined || x === null ? "-" : Number(x).toFixed(d));
const silero = (rows) => rows.find((r) => r.node === "SileroVADNode");
const earshot = (rows) => rows.find((r) => r.node === "VoiceActivityDetector");
const p95 = out.live.latencyMs.p95;
const lines = [
  `# Voice activity detection${quick ? " (quick run: proves the harness, not the figures)" : ""}`,
  "",
  `${out.date}, \`node bench/vad.mjs${quick ? " --quick" : ""}\`, ${out.machine.cores} cores (${out.machine.cpu}), ${out.machine.browser}. ${cfg.seconds} s of the recording at 16 kHz; medians of ${cfg.reps} runs after a warm-up.`,
  "",
  "| | per 32 ms window (512 samples) | main thread per second of audio |",
  "|---|---|---|",
  `| SileroVADNode, native (release CLI) | ${f(silero(out.native).perWindowMs, 3)} ms | - |`,
  `| SileroVADNode, Chromium executor worker | ${f(silero(out.worker).perWindowMs, 3)} ms | ${f(out.live.mainThreadMsPerSecond, 2)} ms (live, listen()) |`,
  `| vad-web 0.0.31's Silero inference, same model, onnxruntime-web 1.31 (main thread) | ${f(out.vadWeb.perWindowMs, 3)} ms | ${f(out.vadWeb.mainThreadMsPerSecond, 2)} ms |`,
  `| VoiceActivityDetector (earshot), native | ${f(earshot(out.native).perWindowMs, 3)} ms | - |`,
  `| VoiceActivityDetector (earshot), Chromium executor worker | ${f(earshot(out.worker).perWindowMs, 3)} ms | - |`,
  "",
  `Live, ${f(out.live.seconds, 0)} s of fake microphone through \`live-voice-silero.json\`: window event latency (capture of a window's last sample to its event on the page) p50 ${f(out.live.latencyMs.p50, 1)} ms, p95 ${f(p95, 1)} ms (${out.live.latencyMs.count} windows); goal p95 <= 32 + 10 ms: ${p95 <= 42 ? "met" : "NOT met"}. ${out.live.gaps} frames lost, ${out.live.repeats} repeated.`,
  "",
  `Capacity: one executor worker keeps **${f(out.liveCapacity.streams, 0)}** live Silero streams in real time (${f(out.liveCapacity.seconds, 0)} s of audio in ${f(out.liveCapacity.wallMs, 0)} ms through the capture path, offline-rendered); goal >= 20: ${out.liveCapacity.streams >= 20 ? "met" : "NOT met"}.`,
  "",
  `Executor wasm: ${(out.wasm.bytes / 1024).toFixed(0)} KiB, ${(out.wasm.brotli / 1000).toFixed(0)} KB brotli.`,
];
if (out.noise) lines.push("", "Quality in noise: `bench/results/vad-noise.md`.");
const stem = quick ? "vad-quick" : "vad";
writeFileSync(path.join(root, `bench/results/${stem}.json`), `${JSON.stringify(out, null, 2)}\n`);
writeFileSync(path.join(root, `bench/results/${stem}.md`), `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
