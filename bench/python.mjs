// `npm run bench:python [-- --quick]`: what a Python interpreter costs in Chromium.
//
// 1. The first interpreter, from a fresh profile (boot, and a memory snapshot made) and
//    warm (the snapshot restored): `RemoteMedia.create({python: true})` to ready, with
//    the worker's own breakdown (capabilities().pythonStartup).
// 2. Each additional interpreter: a manifest with inline Python of its own gets an
//    interpreter (a nested worker) of its own. For N of them: the first run's time beyond
//    a warm run of the same manifest (the interpreter's start), and the renderer
//    processes' resident memory after each, less before the first (memory settles for
//    1 s; the page is the browser's only one). The first additional one also makes the
//    host read the memory snapshot once, kept for the rest, and start a spare
//    interpreter ahead (an app that uses several keeps one ready, so the next new scope
//    takes it at once): reported apart; the per-interpreter figure is the slope over the
//    ones after it, and their start is the spare's hand-over.
//
// The goals (issue 22): at most 60 MiB and 250 ms per additional interpreter, warm.
// Writes bench/results/python{,-quick}.{json,md}.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "../js-sdk/node/chromium.mjs";
import { serve } from "../js-sdk/node/server.mjs";
import { rendererRssMiB } from "./common.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const EXTRA = quick ? 2 : 6;
const log = (m) => console.error(`[bench:python] ${m}`);
const settle = (ms) => new Promise((r) => setTimeout(r, ms));

/** A manifest whose inline Python (module `m{n}`) is its own: a scope, so an interpreter, of its own. */
const inline = (n) => ({
  version: "v1",
  metadata: { name: `m${n}` },
  nodes: [{ id: "p", node_type: "Twice", runtime_hint: "python" }],
  python: { modules: { [`m${n}`]: `from remotemedia import Node\nclass Twice(Node):\n    def process(self, data):\n        return data * 2 + ${n}\n` } },
});

async function harness(context, server) {
  const page = await context.newPage();
  await page.goto(`${server.url}/js-sdk/node/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 60_000 });
  return page;
}

/** `create({python: true})` to ready: total ms and the worker's breakdown. */
async function firstStart(context, server) {
  const page = await harness(context, server);
  try {
    return await page.evaluate(async () => {
      const t0 = performance.now();
      const rm = await window.sdk.RemoteMedia.create({ workers: 1, python: true });
      const ms = performance.now() - t0;
      const startup = rm.capabilities().pythonStartup;
      await rm.terminate();
      return { ms, startup };
    });
  } finally {
    await page.close();
  }
}

/** Additional interpreters: start time (first run less a warm run) and resident memory each. */
async function additional(context, server) {
  const page = await harness(context, server);
  try {
    await page.evaluate(async (snapshot) => {
      window.rm = await window.sdk.RemoteMedia.create({ workers: 1, python: true, pythonInterpreters: 64, pythonSnapshot: snapshot });
      const text = { version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode" }] };
      await window.rm.run(text, ["warm"]);
    }, !process.argv.includes("--no-snapshot"));
    await settle(1000);
    const before = rendererRssMiB();
    const rows = [];
    for (let n = 1; n <= EXTRA; n++) {
      const r = await page.evaluate(async (manifest) => {
        const t0 = performance.now();
        const first = (await window.rm.run(manifest, [1])).outputs[0];
        const firstMs = performance.now() - t0;
        const t1 = performance.now();
        await window.rm.run(manifest, [2]);
        const warmMs = performance.now() - t1;
        return { first, firstMs, warmMs, interpreters: window.rm.capabilities().pythonInterpreters };
      }, inline(n));
      if (r.first !== 2 + n) throw new Error(`interpreter ${n} answered ${r.first}, not ${2 + n}`);
      await settle(1000);
      const rss = rendererRssMiB();
      rows.push({ n, startMs: r.firstMs - r.warmMs, firstMs: r.firstMs, warmMs: r.warmMs, interpreters: r.interpreters, rssMiB: rss - before });
      log(`interpreter ${n}: start ${(r.firstMs - r.warmMs).toFixed(0)} ms, +${(rss - before).toFixed(0)} MiB in all`);
    }
    await page.evaluate(() => window.rm.terminate());
    return { beforeMiB: before, rows };
  } finally {
    await page.close();
  }
}

const server = await serve(root);
const browser = await launch();
// One browser context: the Cache API (where the memory snapshot is kept) is per context.
const context = await browser.newContext();
let result;
try {
  log("first interpreter, fresh profile (boot, snapshot made)");
  const fresh = await firstStart(context, server);
  log("first interpreter, warm (snapshot restored)");
  const warm = [];
  for (let i = 0; i < (quick ? 1 : 3); i++) warm.push(await firstStart(context, server));
  log(`additional interpreters: ${EXTRA}`);
  const extra = await additional(context, server);
  const last = extra.rows.at(-1);
  // The first additional interpreter also makes the host read the snapshot once (kept
  // for the ones after it); each one after it costs the slope.
  const firstExtraMiB = extra.rows[0].rssMiB;
  const perInterpreterMiB = (last.rssMiB - firstExtraMiB) / (last.n - 1);
  const starts = extra.rows.map((r) => r.startMs).sort((a, b) => a - b);
  result = { date: new Date().toISOString(), quick, fresh, warm, extra, firstExtraMiB, perInterpreterMiB, startMedianMs: starts[Math.floor(starts.length / 2)] };
} finally {
  await browser.close();
  await server.close();
}

const f = (v, d = 0) => (v == null ? "-" : Number(v).toFixed(d));
const warmMedian = [...result.warm].sort((a, b) => a.ms - b.ms)[Math.floor(result.warm.length / 2)];
const md = [
  "# What a Python interpreter costs",
  "",
  `${result.date}, \`node bench/python.mjs${quick ? " --quick" : ""}\`, headless Chromium on this machine. Goals: at most 60 MiB and 250 ms per additional interpreter, warm.`,
  "",
  "| first interpreter | create() to ready | fetch | loadPyodide | install | import | snapshot |",
  "|---|---|---|---|---|---|---|",
  ...[
    ["fresh profile", result.fresh],
    ["warm (median)", warmMedian],
  ].map(([label, r]) => `| ${label} | ${f(r.ms)} ms | ${f(r.startup.fetchMs)} ms | ${f(r.startup.loadPyodideMs)} ms | ${f(r.startup.installMs)} ms | ${f(r.startup.importMs)} ms | ${r.startup.snapshot} |`),
  "",
  "| additional interpreters | start (first run less a warm run) | first run | warm run | renderers' resident memory, more than before the first |",
  "|---|---|---|---|---|",
  ...result.extra.rows.map((r) => `| ${r.n} | ${f(r.startMs)} ms | ${f(r.firstMs)} ms | ${f(r.warmMs, 1)} ms | ${f(r.rssMiB)} MiB |`),
  "",
  `Per additional interpreter: **${f(result.perInterpreterMiB, 1)} MiB** (from the second on; the first took ${f(result.firstExtraMiB)} MiB, with the host's one copy of the snapshot and the spare started ahead), start median **${f(result.startMedianMs)} ms** (the first one ${f(result.extra.rows[0].startMs)} ms: Pyodide's start from the snapshot; then a spare started ahead is ready).`,
  "",
  ...beforeLines(),
].join("\n");

/** The same bench before issue 22's changes (results/python-before.json, measured once from commit 3e7b031). */
function beforeLines() {
  let before;
  try {
    before = JSON.parse(readFileSync(path.join(root, "bench/results/python-before.json"), "utf8"));
  } catch {
    return [];
  }
  const rows = before.extra.rows;
  const slope = (rows.at(-1).rssMiB - rows[0].rssMiB) / (rows.length - 1);
  const starts = rows.map((r) => r.startMs).sort((a, b) => a - b);
  return [
    `Before (commit 3e7b031: each interpreter fetched and compiled Pyodide's WebAssembly, restored the whole snapshot image, and read the snapshot from the Cache API itself; ${before.date}): ` +
      `**${f(slope, 1)} MiB** per additional interpreter (the first ${f(rows[0].rssMiB)} MiB), start median **${f(starts[Math.floor(starts.length / 2)])} ms**.`,
    "",
  ];
}

const name = quick ? "python-quick" : "python";
writeFileSync(path.join(root, `bench/results/${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(path.join(root, `bench/results/${name}.md`), md);
console.log(md);
