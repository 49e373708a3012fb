// `npm run demo`: runs the default voice pipeline (decode, resample to 16 kHz,
// voice activity, levels) on the real audio-lena recording and prints a readable
// summary. Today it runs the native `remotemedia` CLI; the in-browser path
// (executor workers, Pyodide, the browser CLI) replaces it when it lands.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const manifest = path.join(root, "examples/pipelines/voice.json");
const input = path.join(root, "node_modules/audio-lena/lena.wav");

console.log("Building the native runtime (cargo build --release)...");
execFileSync("cargo", ["build", "--release", "--quiet", "-p", "remotemedia-runtime", "--bin", "remotemedia"], {
  cwd: root,
  stdio: "inherit",
});

const bin = path.join(root, "target/release/remotemedia");
let stdout;
try {
  stdout = execFileSync(bin, ["run", manifest, "--input", input], { cwd: root, maxBuffer: 64 << 20 });
} catch (err) {
  console.error(`The pipeline failed:\n${err.stderr ?? err.message}`);
  process.exit(1);
}
const result = JSON.parse(stdout.toString());

const vadItem = result.outputs_by_node.vad[0].audio;
const meta = vadItem.meta;
const vad = meta.metadata.vad;
const levels = result.outputs_by_node.levels[0];
const seconds = meta.frames / meta.sample_rate;
const speech = vad.segments.reduce((sum, s) => sum + (s.end_s - s.start_s), 0);
const fmt = (x, d = 2) => x.toFixed(d);

console.log(`
RemoteMedia voice pipeline: ${path.relative(root, manifest)}
Input:  ${path.relative(root, input)} (${(statSync(input).size / 1024).toFixed(0)} KiB, 44.1 kHz mono)
Order:  ${result.graph_info.execution_order.join(" -> ")}

Audio out of the resampler: ${meta.frames} frames, ${meta.sample_rate} Hz, ${meta.channels} channel(s), ${fmt(seconds)} s
Speech: ${vad.segments.length} segments, ${fmt(speech)} s of ${fmt(seconds)} s (${fmt((100 * speech) / seconds, 0)} %)`);
for (const s of vad.segments) {
  const width = Math.max(1, Math.round((s.end_s - s.start_s) * 4));
  console.log(`  ${fmt(s.start_s).padStart(6)} s - ${fmt(s.end_s).padStart(6)} s  ${"#".repeat(width)}`);
}
console.log(`Levels: RMS ${fmt(levels.rms_db)} dBFS, peak ${fmt(levels.peak_db)} dBFS, low volume: ${levels.is_low_volume}, silence: ${levels.is_silence}

Per node (ms):`);
for (const id of result.graph_info.execution_order) {
  const m = result.metrics.nodes[id];
  console.log(`  ${id.padEnd(10)} ${fmt(m.time_ms).padStart(8)}   items ${m.items_in} -> ${m.items_out}`);
}
const total = result.metrics.total_ms;
console.log(`  ${"total".padEnd(10)} ${fmt(total).padStart(8)}   = ${fmt((seconds * 1000) / total, 0)}x real time (native)
`);
