// `npm run bench [-- --quick]`: every benchmark side by side in one browser session
// (and, for the native comparison, the native CLI on the same machine in the same
// command). Writes bench/results/latest.json, latest.md and latest.svg.
// --quick runs each benchmark once on small sizes, to prove the harness works, and
// writes bench/results/quick.* instead.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { serve } from "../js-sdk/node/server.mjs";
import { fakeMicrophoneFlags, launch } from "../js-sdk/node/chromium.mjs";
import { nativeCli, rendererRssMiB, repeatedLena } from "./common.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const results = path.join(root, "bench/results");
mkdirSync(results, { recursive: true });
const quick = process.argv.includes("--quick");
const cfg = quick
  ? { reps: 1, calls: 20, warmupCalls: 20, sizesMb: [1], seconds: 30, items: 20, runs: 2, soakRuns: 200, soakPythonRuns: 20, soakPushes: 50, liveSeconds: 10, capacitySeconds: 30, startReps: 1 }
  : { reps: 5, calls: 200, warmupCalls: 3000, sizesMb: [1, 10, 50], seconds: 600, items: 500, runs: 8, soakRuns: 10000, soakPythonRuns: 1000, soakPushes: 1000, liveSeconds: 600, capacitySeconds: 300, startReps: 15 };
const log = (m) => console.error(`[bench] ${m}`);

/** The soak's row: per-call times and memory (MiB) after the first and the last tenth. */
function soakRow(s) {
  const f = (x, d = 2) => (x === null || x === undefined ? "n/a" : x.toFixed(d));
  const mem = (t) => `page ${f(t.memoryMiB.page, 1)}, executors ${f(t.memoryMiB.executors, 1)}, Python ${f(t.memoryMiB.python, 1)} MiB JS heap; renderers ${f(t.rendererRssMiB, 0)} MiB resident`;
  const growth = (k) => (s.last.memoryMiB[k] === null ? "n/a" : f(s.last.memoryMiB[k] - s.first.memoryMiB[k], 1));
  return `| 8 | soak: ${s.runs} Rust runs and ${s.pythonRuns} Python runs (three manifests, and a new one each tenth whose interpreter replaces the last new one), then ${s.pushes} session pushes | first tenth ${f(s.first.msPerRun)} ms/run, ${f(s.first.msPerPythonRun)} ms/Python run, ${mem(s.first)}; last tenth ${f(s.last.msPerRun)} ms/run, ${f(s.last.msPerPythonRun)} ms/Python run, ${mem(s.last)}; ${f(s.pushMs)} ms/push | | last vs first tenth: page ${growth("page")}, executors ${growth("executors")}, Python ${growth("python")} MiB; renderers ${f(s.last.rendererRssMiB - s.first.rendererRssMiB, 0)} MiB | ${soakVerdict(s)} |`;
}

/** "flat" when no JS heap grew by more than 1 MiB and the renderers by no more than 32 MiB from the first tenth to the last. */
function soakVerdict(s) {
  const heaps = ["page", "executors", "python"].every((k) => s.last.memoryMiB[k] === null || s.last.memoryMiB[k] - s.first.memoryMiB[k] <= 1);
  return heaps && s.last.rendererRssMiB - s.first.rendererRssMiB <= 32 ? "flat" : "grew";
}

/** The recording repeated to at least `seconds` as one WAV (16-bit PCM), for both sides. */
function longWav(seconds) {
  const once = repeatedLena(root, 1);
  const wav = repeatedLena(root, Math.ceil((seconds * once.rate * 2) / once.copyBytes));
  const file = path.join(results, "long.tmp.wav");
  writeFileSync(file, wav.bytes);
  return { file, seconds: wav.seconds };
}

function native(args) {
  const r = spawnSync(nativeCli(root, quick), args, { cwd: root, encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`native CLI failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function sizes() {
  const wasm = readFileSync(path.join(root, "js-sdk/dist/remotemedia_worker_bg.wasm"));
  const pack = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--workspace", "@remotemedia/web"], { cwd: root, encoding: "utf8" });
  const info = JSON.parse(pack.stdout || "[{}]")[0] ?? {};
  return {
    wasmRaw: wasm.length,
    wasmGzip: gzipSync(wasm, { level: 9 }).length,
    wasmBrotli: brotliCompressSync(wasm).length,
    npmPacked: info.size ?? null,
    npmUnpacked: info.unpackedSize ?? null,
    npmFiles: info.entryCount ?? null,
  };
}

const server = await serve(root);
// The soak's page is cross-origin isolated, so it can measure its workers' heaps.
const isolatedServer = await serve(root, { isolate: true });

/**
 * 8. Soak: tenths of `soakRuns` Rust runs and `soakPythonRuns` Python runs, then
 * `soakPushes` session pushes, in one isolated page; after each tenth, the JS heaps of
 * the page, executor workers and Python worker, and the renderers' resident memory.
 */
async function soak({ soakRuns, soakPythonRuns, soakPushes }) {
  const page = await browser.newPage();
  try {
    await page.goto(`${isolatedServer.url}/bench/index.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const call = (name, arg) => page.evaluate(({ name, arg }) => window.benchmarks[name](arg), { name, arg });
    await call("soakStart");
    const tenths = [];
    for (let t = 1; t <= 10; t++) {
      const step = await call("soakStep", { runs: soakRuns / 10, pythonRuns: soakPythonRuns / 10 });
      tenths.push({ ...step, calls: (t * (soakRuns + soakPythonRuns)) / 10, rendererRssMiB: rendererRssMiB() });
    }
    const pushes = await call("soakPushes", { pushes: soakPushes });
    await call("soakEnd");
    return { runs: soakRuns, pythonRuns: soakPythonRuns, pushes: soakPushes, tenths, first: tenths[0], last: tenths[9], pushMs: pushes.pushMs, afterPushes: { ...pushes.memoryMiB, rendererRssMiB: rendererRssMiB() } };
  } finally {
    await page.close();
  }
}
// The long recording is also the fake microphone of the live benchmark.
const wav = longWav(Math.max(cfg.seconds, cfg.liveSeconds + 5));
// ForceEagerMeasureMemory: the soak's memory measurements (after a GC) answer at once
// instead of at the next scheduled GC (up to 20 s).
const browser = await launch([...fakeMicrophoneFlags(wav.file), "--enable-blink-features=ForceEagerMeasureMemory"]);
const out = { date: new Date().toISOString(), quick, config: cfg };
try {
  out.machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), browser: `Chromium ${browser.version()}`, node: process.version };
  const page = await browser.newPage();
  page.on("pageerror", (e) => log(`page error: ${e.message}`));
  await page.goto(`${server.url}/bench/index.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  const inPage = (name, arg) => page.evaluate(({ name, arg }) => window.benchmarks[name](arg), { name, arg });

  log("1/7 call overhead");
  out.overhead = await inPage("overhead", cfg);
  out.bigManifest = await inPage("bigManifest", cfg);
  log("2/7 float32 transport");
  out.transport = await inPage("transport", cfg);
  log("3/7 audio throughput (browser, then native)");
  out.throughput = await inPage("throughput", { reps: cfg.reps, url: `/${path.relative(root, wav.file)}`, seconds: wav.seconds });
  const nat = native(["bench", "examples/pipelines/voice.json", "--input", path.relative(root, wav.file), "--repeat", String(cfg.reps)]);
  out.throughput.native = { ...nat, realTime: wav.seconds / (nat.median_ms / 1000) };
  out.throughput.wasmVsNative = out.throughput.pipeline.median / nat.median_ms;
  // The same executor work without moving the file in and the audio out of the worker.
  out.throughput.wasmExecutorVsNative = out.throughput.pipeline.executor.median / nat.median_ms;
  log("4/7 Python node calls");
  out.python = await inPage("python", cfg);
  log("5/7 start-up (fresh profile, warm HTTP cache, warm service worker)");
  out.startup = {};
  for (const withPython of [false, true]) {
    // Each path in its own empty profile (nothing cached). The warm loads of the two
    // paths take turns, the order swapped each round, so both see the same machine.
    const pages = {};
    for (const mode of ["http", "sw"]) pages[mode] = await (await browser.newContext()).newPage();
    // Each load ends on about:blank, so the other path's page is not running meanwhile.
    // The figures come as a console message: waiting with waitForFunction would have
    // Playwright evaluate its 330 KB injected script on the page's main thread during
    // the start-up it measures (18 ms in a trace).
    const first = async (mode) => {
      const page = pages[mode];
      const reported = page.waitForEvent("console", { predicate: (m) => m.text().startsWith("startup "), timeout: 60_000 });
      await page.goto(`${server.url}/bench/start.html?python=${withPython ? 1 : 0}&sw=${mode === "sw" ? 1 : 0}`);
      const startup = JSON.parse((await reported).text().slice("startup ".length));
      await page.goto("about:blank");
      return startup;
    };
    const row = { fresh: await first("http") };
    await first("sw"); // installs the service worker and fills its cache
    const warm = { http: [], sw: [] };
    for (let i = 0; i < cfg.startReps; i++) {
      for (const mode of i % 2 ? ["sw", "http"] : ["http", "sw"]) warm[mode].push(await first(mode));
    }
    for (const [mode, key] of [["http", "warmHttp"], ["sw", "warmServiceWorker"]]) {
      const loads = warm[mode].sort((a, b) => a.firstResultMs - b.firstResultMs);
      row[key] = loads[Math.floor(loads.length / 2)];
      row[`${key}Range`] = [loads[0].firstResultMs, loads[loads.length - 1].firstResultMs];
    }
    for (const page of Object.values(pages)) await page.context().close();
    out.startup[withPython ? "python" : "rust"] = row;
  }
  log("6/7 scaling");
  out.scaling = await inPage("scaling", { reps: cfg.reps, runs: cfg.runs });
  log("soak");
  out.soak = await soak(cfg);
  log(`live: ${cfg.liveSeconds} s of fake microphone, then capacity`);
  out.live = await inPage("live", { seconds: cfg.liveSeconds });
  out.liveCapacity = await inPage("liveCapacity", { seconds: cfg.capacitySeconds });
  log("7/7 sizes");
  out.size = sizes();
} finally {
  await browser.close();
  await server.close();
  await isolatedServer.close();
}

// Quick runs (npm test) only prove the harness; they never replace the real figures.
const stem = quick ? "quick" : "latest";
writeFileSync(path.join(results, `${stem}.json`), `${JSON.stringify(out, null, 2)}\n`);
writeFileSync(path.join(results, `${stem}.md`), markdown(out));
writeFileSync(path.join(results, `${stem}.svg`), chart(out));
console.log(markdown(out));

function f(x, d = 2) {
  return x === null || x === undefined ? "n/a" : Number(x).toFixed(d);
}

function mm(s, d = 3) {
  return `${f(s.median, d)} (${f(s.min, d)}-${f(s.max, d)})`;
}

function verdict(ok) {
  return ok ? "met" : "missed";
}

function markdown(r) {
  const t = r.throughput;
  const lines = [
    `# RemoteMedia Web benchmarks${r.quick ? " (quick mode: one run, small sizes; not for comparison)" : ""}`,
    "",
    `${r.date}. ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB, ${r.machine.browser}, Node ${r.machine.node}.`,
    `Figures are medians of ${r.config.reps} runs after a warm-up (start-up: ${r.config.startReps ?? r.config.reps} warm loads per path, the two paths taking turns), (min-max); ratios are within this run.`,
    "",
    "| # | benchmark | result | baseline | ratio | target |",
    "|---|---|---|---|---|---|",
    `| 1 | call overhead, one-node PassThrough (ms/call, after ${r.config.warmupCalls ?? 0} warm-up calls; a new instance's first ${r.config.calls}: ${r.overhead.cold === undefined ? "n/a" : f(r.overhead.cold, 3)}) | ${mm(r.overhead.sdk)} | bare echo worker ${mm(r.overhead.floor)} | ${f(r.overhead.ratio)}x | < 0.3 ms and < 3x: ${verdict(r.overhead.sdk.median < 0.3 && r.overhead.ratio < 3)} |`,
    `| 1 | validating a 10k-node manifest on the page (ms) | valid ${mm(r.bigManifest.valid, 1)}; 10k dangling connections ${mm(r.bigManifest.dangling, 1)} | | | < 50 ms: ${verdict(Math.max(r.bigManifest.valid.median, r.bigManifest.dangling.median) < 50)} |`,
    ...r.transport.map(
      (x) =>
        `| 2 | ${x.mb} MB float32 through PassThrough (GB/s) | transfer ${f(x.transfer.gbps)} (transferInputs ${f(x.transferDetach.gbps)}), base64 ${f(x.base64.gbps)} | clone echo ${f(x.cloneEcho.gbps)}, transfer echo ${f(x.transferEcho.median, 2)} ms (1 KB: ${f(x.transferEcho1k.median, 2)} ms), fresh copy ${f(x.freshCopy.gbps)}, memcpy ${f(x.memcpy.gbps)} | transfer ${f(x.transferVsClone)}x the clone echo's time | base64 >= 1 GB/s: ${verdict(x.base64.gbps >= 1)}; transfer >= 2 GB/s: ${verdict(x.transfer.gbps >= 2)}, with transferInputs ${verdict(x.transferDetach.gbps >= 2)} |`,
    ),
    `| 3 | decode + resample + VAD + levels, ${f(t.seconds / 60, 1)} min of audio (x real time) | browser ${f(t.pipeline.realTime, 0)}x (${f(t.pipeline.median, 0)} ms) | native ${f(t.native.realTime, 0)}x (${f(t.native.median_ms, 0)} ms) | wasm ${f(t.wasmVsNative)}x native time end to end; executor alone ${f(t.wasmExecutorVsNative)}x (${f(t.pipeline.executor.median, 0)} ms in the worker) | >= 300x: ${verdict(t.pipeline.realTime >= 300)}; within 1.5x: ${verdict(t.wasmVsNative <= 1.5)} end to end, ${verdict(t.wasmExecutorVsNative <= 1.5)} executor |`,
    `| 3 | resample 44.1 -> 16 kHz (x real time) | FastResampleNode ${f(t.resampleNode.realTime, 0)}x (node alone ${f(t.resampleNode.nodeOnlyRealTime, 0)}x) | wave-resampler cubic ${f(t.waveResamplerCubic.realTime, 0)}x, sinc ${f(t.waveResamplerSinc.realTime, 0)}x | ${f(t.resampleNode.realTime / t.waveResamplerCubic.realTime, 1)}x faster than cubic | |`,
    `| 4 | Python node call per small item (ms) | ${mm(r.python.perItem)} | bare Pyodide call ${f(r.python.floorPerCall, 4)} | ${f(r.python.ratio, 0)}x | < 0.5 ms: ${verdict(r.python.perItem.median < 0.5)} |`,
    ...["rust", "python"].map((k) => {
      const st = r.startup[k];
      const py = (x) => (x.python ? `; Pyodide ${f(x.python.totalMs, 0)} (fetch ${f(x.python.fetchMs, 0)}, loadPyodide ${f(x.python.loadPyodideMs, 0)}, install ${f(x.python.installMs, 0)}, import ${f(x.python.importMs, 0)})` : "");
      const reg = (x) => (x.registerMs ? `registerServiceWorker ${f(x.registerMs, 0)}, ` : "");
      const cell = (x, range) => `${f(x.firstResultMs, 0)}${range ? ` (${f(range[0], 0)}-${f(range[1], 0)})` : ""}: ${reg(x)}pool ${f(x.executorStartMs, 0)}${py(x)}`;
      const swRatio = st.warmServiceWorker.firstResultMs / st.warmHttp.firstResultMs;
      const target =
        k === "rust"
          ? `warm < 100 ms: ${verdict(Math.min(st.warmHttp.firstResultMs, st.warmServiceWorker.firstResultMs) < 100)}; service worker within 1.2x of the HTTP cache (${f(swRatio)}x): ${verdict(swRatio <= 1.2)}`
          : "";
      return `| 5 | first result, ${k === "rust" ? "Rust-only" : "with a Python node"} (ms from navigation) | warm, service worker ${cell(st.warmServiceWorker, st.warmServiceWorkerRange)}; warm, HTTP cache ${cell(st.warmHttp, st.warmHttpRange)} | fresh profile ${cell(st.fresh)} | | ${target} |`;
    }),
    `| 6 | ${r.scaling.runs} voice runs, pool of ${r.scaling.cores} vs 1 worker (ms) | pool ${mm(r.scaling.pool, 0)} | 1 worker ${mm(r.scaling.oneWorker, 0)} | speedup ${f(r.scaling.speedup)}x | >= ${f(r.scaling.target)}x: ${verdict(r.scaling.speedup >= r.scaling.target)} |`,
    soakRow(r.soak),
    `| 9 | live: ${f(r.live.seconds, 0)} s of fake microphone through listen() and live-voice.json | frame event latency p50 ${f(r.live.latencyMs.p50, 1)} ms, p95 ${f(r.live.latencyMs.p95, 1)} ms (${r.live.latencyMs.count} frames); ${r.live.gaps} frames lost, ${r.live.repeats} repeated (${r.live.framesCaptured} captured, ${r.live.framesReceived} received); main thread ${f(r.live.mainThreadMsPerSecond, 2)} ms per s of audio | one executor worker keeps ${f(r.liveCapacity.streams, 0)} live streams in real time (${f(r.liveCapacity.seconds, 0)} s of audio in ${f(r.liveCapacity.wallMs, 0)} ms, offline-rendered) | | p95 <= one 30 ms VAD frame + 10 ms: ${verdict(r.live.latencyMs.p95 <= 40)}; 0 lost or repeated: ${verdict(r.live.gaps + r.live.repeats === 0 && r.live.framesCaptured === r.live.framesReceived)} |`,
    `| 7 | sizes | wasm ${(r.size.wasmRaw / 1024).toFixed(0)} KiB raw, ${(r.size.wasmGzip / 1024).toFixed(0)} KiB gzip, ${(r.size.wasmBrotli / 1024).toFixed(0)} KiB brotli | npm package ${f(r.size.npmPacked / 2 ** 20, 1)} MiB packed, ${f(r.size.npmUnpacked / 2 ** 20, 1)} MiB unpacked (${r.size.npmFiles} files, Pyodide core included) | | |`,
    "",
  ];
  return lines.join("\n");
}

/** A horizontal bar chart of the ratios against their targets (log scale). */
function chart(r) {
  const t = r.throughput;
  const bars = [
    ["call overhead vs echo (lower is better, target 3x)", r.overhead.ratio, 3],
    ["transfer vs clone echo, largest size (target 2x)", r.transport.at(-1).transferVsClone, 2],
    ["wasm vs native pipeline time (target 1.5x)", t.wasmVsNative, 1.5],
    ["Python call vs bare Pyodide call", r.python.ratio, null],
    ["1 worker vs pool time (higher is better, target 0.85 x cores)", r.scaling.speedup, r.scaling.target],
  ];
  const W = 760;
  const rowH = 34;
  const x0 = 330;
  const scale = (v) => x0 + (Math.log10(Math.max(v, 0.1)) + 1) * ((W - x0 - 20) / 4); // 0.1x .. 1000x
  const rows = bars
    .map(([label, v, target], i) => {
      const y = 30 + i * rowH;
      const mark = target ? `<line x1="${scale(target)}" x2="${scale(target)}" y1="${y - 4}" y2="${y + 20}" stroke="#dc2626" stroke-width="2"/>` : "";
      return `<text x="8" y="${y + 13}" font-size="11">${label}</text><rect x="${x0}" y="${y}" width="${Math.max(1, scale(v) - x0)}" height="16" fill="#2563eb"/><text x="${scale(v) + 4}" y="${y + 13}" font-size="11">${f(v)}x</text>${mark}`;
    })
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${40 + bars.length * rowH}" font-family="sans-serif"><text x="8" y="18" font-size="13" font-weight="bold">RemoteMedia Web: ratios in one run (red: target; log scale 0.1x-1000x)</text>${rows}</svg>\n`;
}
