// `npm run demo`: runs the default voice pipeline (decode, resample to 16 kHz, voice
// activity, levels, and a Python node) on the real audio-lena recording through the
// browser CLI, i.e. the real SDK, executor workers and Pyodide worker in headless
// Chromium, and prints a readable summary.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const manifest = "examples/pipelines/voice-python.json";
const input = "node_modules/audio-lena/lena.wav";

console.log(`Running ${manifest} on ${input} in headless Chromium (remotemedia-web run)...`);
const cli = spawnSync(process.execPath, ["js-sdk/bin/remotemedia-web.mjs", "run", manifest, "--input", input, "--timing"], {
  cwd: root,
  maxBuffer: 64 << 20,
  encoding: "utf8",
});
if (cli.status !== 0) {
  console.error(cli.stderr || cli.error?.message);
  process.exit(1);
}
const result = JSON.parse(cli.stdout);
const timing = cli.stderr.trim();

// outputs_by_node holds each sink's indices into outputs.
const first = (sink) => result.outputs[result.outputs_by_node[sink][0]];
const levels = first("levels");
const stats = first("stats");
const segments = stats.segments;
const seconds = stats.frames / stats.sample_rate;
const fmt = (x, d = 2) => Number(x).toFixed(d);

console.log(`
RemoteMedia Web: ${result.graph_info.execution_order.join(" -> ")}
Audio after resampling: ${stats.frames} frames, ${stats.sample_rate} Hz, ${fmt(seconds)} s

Voice activity (Rust, in an executor worker): ${segments.length} segments`);
for (const s of segments) {
  const bar = "#".repeat(Math.max(1, Math.round((s.end_s - s.start_s) * 4)));
  console.log(`  ${fmt(s.start_s).padStart(6)} s - ${fmt(s.end_s).padStart(6)} s  ${bar}`);
}
console.log(`Levels (Rust): RMS ${fmt(levels.rms_db)} dBFS, peak ${fmt(levels.peak_db)} dBFS, low volume ${levels.is_low_volume}, silence ${levels.is_silence}
SpeechStats (Python, in the Pyodide worker): ${stats.speech_s} s of speech in ${stats.speech_segments} segments, ratio ${stats.speech_ratio}, longest ${stats.longest_segment_s} s

Per node (ms, in the browser):`);
for (const id of result.graph_info.execution_order) {
  const m = result.metrics.nodes[id];
  console.log(`  ${id.padEnd(9)} ${fmt(m.time_ms, 1).padStart(8)}   items ${m.items_in} -> ${m.items_out}`);
}
console.log(`  ${"total".padEnd(9)} ${fmt(result.metrics.total_ms, 1).padStart(8)}
${timing}
`);
