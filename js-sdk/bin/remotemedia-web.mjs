#!/usr/bin/env node
// remotemedia-web run MANIFEST [--input FILE]... [--workers N]
//
// Runs a manifest through the real SDK and workers in headless Chromium (the system
// Chromium via playwright-core; never a browser download) and prints the result JSON
// of SPEC 5 on stdout, as the native `remotemedia run` does. Failures print the error
// JSON on stdout, a readable line on stderr, and exit with status 1.
//
// --input takes a .json file (an array of items in wire form, or one item) or an audio
// file (.wav .mp3 .flac .ogg), passed as binary bytes.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../node/server.mjs";
import { launch } from "../node/chromium.mjs";

const USAGE = `usage: remotemedia-web run MANIFEST [--input FILE]... [--workers N] [--timing]

--input FILE  a .json file (array of items in wire form) or an audio file
              (.wav .mp3 .flac .ogg) passed as binary bytes; repeatable
--workers N   executor workers in the pool (default: the SDK's default)
--timing      print start-up and run times to stderr`;

const AUDIO = new Set([".wav", ".mp3", ".flac", ".ogg"]);
const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  console.error(`remotemedia-web: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  if (argv[0] !== "run") fail(argv.length ? `unknown command ${argv[0]}\n${USAGE}` : USAGE);
  const opts = { manifest: null, inputs: [], workers: undefined, timing: false };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--input" || a === "-i") {
      if (!argv[i + 1]) fail(`--input needs a file\n${USAGE}`);
      opts.inputs.push(argv[++i]);
    } else if (a === "--workers") opts.workers = Number(argv[++i]);
    else if (a === "--timing") opts.timing = true;
    else if (a.startsWith("-")) fail(`unknown option ${a}\n${USAGE}`);
    else if (!opts.manifest) opts.manifest = a;
    else fail(`unexpected argument ${a}\n${USAGE}`);
  }
  if (!opts.manifest) fail(`run needs a manifest path\n${USAGE}`);
  return opts;
}

function readJson(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    fail(`cannot read ${file}: ${e.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`${file} is not valid JSON: ${e.message}`);
  }
}

/** Inputs in wire form; audio files become binary envelopes. */
function readInputs(files) {
  const items = [];
  for (const file of files) {
    const ext = path.extname(file).toLowerCase();
    if (AUDIO.has(ext)) {
      let bytes;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        fail(`cannot read ${file}: ${e.message}`);
      }
      items.push({ __binary__: true, binary: { meta: {}, data: bytes.toString("base64") } });
    } else if (ext === ".json") {
      const value = readJson(file);
      items.push(...(Array.isArray(value) ? value : [value]));
    } else {
      fail(`${file}: --input takes .json or an audio file (.wav .mp3 .flac .ogg)`);
    }
  }
  return items;
}

const opts = parseArgs(process.argv.slice(2));
const manifest = readJson(opts.manifest);
const inputs = readInputs(opts.inputs);

const server = await serve(pkg);
let browser;
let code = 0;
try {
  browser = await launch();
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/node/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 }).catch(() => {
    throw new Error(`the SDK did not load in Chromium${pageErrors.length ? `: ${pageErrors.join("; ")}` : ""}`);
  });
  const outcome = await page.evaluate(
    async ({ manifest, inputs, workers }) => {
      const { RemoteMedia } = window.sdk;
      const t0 = performance.now();
      let rm;
      let pythonMs = 0;
      const onProgress = (e) => {
        if (e.stage === "Python ready") pythonMs = e.elapsedMs;
      };
      try {
        rm = await RemoteMedia.create(workers ? { workers, onProgress } : { onProgress });
        const tReady = performance.now();
        const result = await rm.run(manifest, inputs, { decode: false });
        return { ok: true, json: JSON.stringify(result), startMs: tReady - t0, pythonMs, runMs: performance.now() - tReady - pythonMs };
      } catch (e) {
        const error = { kind: e.name, message: e.message };
        for (const k of ["nodeId", "nodeType", "language", "traceback", "errors"]) if (e[k] !== undefined) error[k] = e[k];
        return { ok: false, json: JSON.stringify({ status: "error", error }), message: `${e.name}: ${e.message}` };
      } finally {
        await rm?.terminate();
      }
    },
    { manifest, inputs, workers: opts.workers },
  );
  process.stdout.write(`${outcome.json}\n`);
  if (opts.timing && outcome.ok) {
    const python = outcome.pythonMs ? `, Pyodide start ${outcome.pythonMs.toFixed(0)} ms` : "";
    console.error(`executor pool start ${outcome.startMs.toFixed(1)} ms${python}, run ${outcome.runMs.toFixed(1)} ms`);
  }
  if (!outcome.ok) {
    console.error(`remotemedia-web: ${outcome.message}`);
    code = 1;
  }
} catch (e) {
  console.error(`remotemedia-web: ${e.message}`);
  code = 1;
} finally {
  await browser?.close();
  await server.close();
}
process.exit(code);
