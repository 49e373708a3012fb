// `npm run bench:memory [-- --quick]`: peak memory of a long recording through
// examples/pipelines/voice.json (decode, resample to 16 kHz, VAD, levels), natively
// (`/usr/bin/time -v`, maximum resident set) and in Chromium: the executor worker's
// WebAssembly memory after the run (linear memory only grows, so its size then is its
// peak) and the renderer processes' resident memory, sampled every 100 ms.
//
// The files: the audio-lena recording looped to one hour at 48 kHz mono by ffmpeg, as
// WebM/Opus (what MediaRecorder makes), MP3 and FLAC; made once into
// target/bench-audio/. --quick makes one minute instead, to prove the harness runs.
// Writes bench/results/memory{,-quick}.{json,md}. The goal (docs/formats.md, "Memory"):
// peak at most 2x the decoded 16 kHz output, 230 MB for an hour.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../js-sdk/node/server.mjs";
import { launch } from "../js-sdk/node/chromium.mjs";
import { nativeCli, rendererRssMiB } from "./common.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const seconds = quick ? 60 : 3600;
const log = (m) => console.error(`[bench:memory] ${m}`);
// A whole hour at 48 kHz is 173 M samples, over the default limit (2^27) that bounds
// a whole file's decode; the run streams it in pieces, so the limit is raised.
const MAX_OUTPUT_VALUES = 2 ** 29;
const VOICE = JSON.parse(readFileSync(path.join(root, "examples/pipelines/voice.json"), "utf8"));
const FORMATS = [
  { name: "WebM/Opus, 32 kbit/s", ext: "webm", args: ["-c:a", "libopus", "-b:a", "32k"] },
  { name: "MP3, 128 kbit/s", ext: "mp3", args: ["-c:a", "libmp3lame", "-b:a", "128k"] },
  { name: "FLAC", ext: "flac", args: ["-c:a", "flac"] },
];

/** The recording looped to `seconds` at 48 kHz mono in one format, made once. */
function longFile(format) {
  const dir = path.join(root, "target/bench-audio");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `lena-${seconds}s-48k.${format.ext}`);
  if (!existsSync(file)) {
    log(`making ${path.relative(root, file)} with ffmpeg`);
    const lena = path.join(root, "node_modules/audio-lena/lena.wav");
    const tmp = `${file}.tmp.${format.ext}`;
    const r = spawnSync("ffmpeg", ["-v", "error", "-y", "-stream_loop", "-1", "-i", lena, "-t", String(seconds), "-ar", "48000", "-ac", "1", ...format.args, tmp], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`ffmpeg failed making ${file}`);
    spawnSync("mv", [tmp, file]);
  }
  return file;
}

/** The native CLI's peak resident memory (MiB) for voice.json on `file`. */
function nativePeak(file) {
  const r = spawnSync("/usr/bin/time", ["-v", nativeCli(root, quick), "run", "examples/pipelines/voice.json", "--input", file, "--max-output-values", String(MAX_OUTPUT_VALUES)], { cwd: root, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`native CLI failed on ${file}: ${r.stderr.slice(-2000)}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  const result = JSON.parse(r.stdout);
  const segments = result.outputs_by_node.vad.reduce((n, i) => n + result.outputs[i].audio.meta.metadata.vad.segments.length, 0);
  return { peakMiB: kb / 1024, segments };
}

// Prepended to the executor worker's script on the bench page only: keeps the
// instance's memory where the bench can read it from the worker.
const KEEP_MEMORY = `
{
  const keep = (r) => { const instance = r instanceof WebAssembly.Instance ? r : r.instance; self.__benchWasmMemory = instance.exports.memory; return r; };
  const instantiate = WebAssembly.instantiate, streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiate = (...a) => instantiate(...a).then(keep);
  if (streaming) WebAssembly.instantiateStreaming = (...a) => streaming(...a).then(keep);
}
`;

async function browserPeak(browser, serverUrl, file) {
  const page = await browser.newPage();
  try {
    await page.route("**/js-sdk/dist/executor-worker.js*", async (route) => {
      const response = await route.fetch();
      route.fulfill({ response, body: KEEP_MEMORY + (await response.text()) });
    });
    await page.goto(`${serverUrl}/bench/index.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const before = rendererRssMiB();
    let peakRss = before;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, rendererRssMiB()); }, 100);
    let r;
    try {
      r = await page.evaluate(
        async ({ url, voice, maxOutputValues }) => {
          const { RemoteMedia } = await import("/js-sdk/dist/index.js");
          const rm = await RemoteMedia.create({ workers: 1, limits: { maxOutputValues } });
          const blob = await (await fetch(url)).blob();
          const t0 = performance.now();
          const result = await rm.run(voice, [blob]);
          const ms = performance.now() - t0;
          const segments = result.outputs_by_node.vad.reduce((n, a) => n + a.metadata.vad.segments.length, 0);
          return { ms, segments };
        },
        { url: `/${path.relative(root, file)}`, voice: VOICE, maxOutputValues: MAX_OUTPUT_VALUES },
      );
    } finally {
      clearInterval(sampler);
    }
    // Workers start from blob: bootstraps: the executor is told by its name.
    let worker = null;
    for (const w of page.workers()) if ((await w.evaluate(() => self.name).catch(() => "")).startsWith("remotemedia-executor")) worker = w;
    const wasmBytes = worker ? await worker.evaluate(() => self.__benchWasmMemory?.buffer.byteLength ?? null) : null;
    return { ...r, wasmMiB: wasmBytes == null ? null : wasmBytes / 2 ** 20, rendererPeakMiB: peakRss, rendererBeforeMiB: before };
  } finally {
    await page.close();
  }
}

const decodedMiB = (seconds * 16000 * 4) / 2 ** 20; // the 16 kHz output as float32
const server = await serve(root);
const browser = await launch();
const rows = [];
try {
  for (const format of FORMATS) {
    const file = longFile(format);
    log(`${format.name}: native`);
    const nat = nativePeak(file);
    log(`${format.name}: Chromium`);
    const web = await browserPeak(browser, server.url, file);
    rows.push({ format: format.name, fileMiB: statSync(file).size / 2 ** 20, native: nat, chromium: web });
  }
} finally {
  await browser.close();
  await server.close();
}

const f = (x, d = 0) => (x == null ? "-" : x.toFixed(d));
const x = (mib) => (mib == null ? "-" : `${(mib / decodedMiB).toFixed(2)}x`);
const md = [
  `# Peak memory of ${seconds / 60} min at 48 kHz through voice.json${quick ? " (quick mode: not for comparison)" : ""}`,
  "",
  `${new Date().toISOString()}, \`node bench/memory.mjs${quick ? " --quick" : ""}\`. The decoded 16 kHz output is ${f(decodedMiB)} MiB; the goal is at most 2x that.`,
  "Chromium's figures: the executor worker's WebAssembly memory after the run (its peak: linear memory never shrinks), and the renderer processes' resident memory, sampled every 100 ms (page, workers and their WebAssembly memory; before the run in brackets).",
  "",
  "| file | size | native peak RSS | Chromium worker wasm memory | Chromium renderers' peak RSS | Chromium run | VAD segments (native, Chromium) |",
  "|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.format} | ${f(r.fileMiB)} MiB | ${f(r.native.peakMiB)} MiB (${x(r.native.peakMiB)}) | ${f(r.chromium.wasmMiB)} MiB (${x(r.chromium.wasmMiB)}) | ${f(r.chromium.rendererPeakMiB)} MiB (${f(r.chromium.rendererBeforeMiB)}) | ${f(r.chromium.ms / 1000, 1)} s | ${r.native.segments}, ${r.chromium.segments} |`),
  "",
].join("\n");
const stem = quick ? "memory-quick" : "memory";
writeFileSync(path.join(root, `bench/results/${stem}.json`), `${JSON.stringify({ seconds, decodedMiB, rows }, null, 2)}\n`);
writeFileSync(path.join(root, `bench/results/${stem}.md`), md);
console.log(md);
