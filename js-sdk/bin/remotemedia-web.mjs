#!/usr/bin/env node
// remotemedia-web: the package's command line.
//
//   copy-assets DIR [--only runtime|sw]
//       Copies the SDK module (index.js) and the runtime's files into DIR,
//       for a page without a bundler (`import ... from "./DIR/index.js"`) or self-hosting
//       (`assetsURL`), and the service worker as DIR/remotemedia-sw.js (for a site's
//       root). Needs nothing else.
//   run MANIFEST [--input FILE]... [--workers N] [--timing]
//       Runs a manifest through the real SDK and workers in headless Chromium and prints
//       the result JSON, as the native `remotemedia run` does. Needs the optional peer
//       dependencies playwright-core and sirv, and a system Chromium (CHROME_PATH);
//       never downloads a browser. Failures print the error JSON on stdout, a readable
//       line on stderr, and exit with status 1.
//   listen MANIFEST --fake-mic FILE.wav [--seconds N] [--workers N]
//       Runs the live path (RemoteMedia.listen: AudioWorklet capture into a streaming
//       session) in headless Chromium, its fake microphone playing FILE.wav once, and
//       prints one JSON object per event per line ({"t", "node", "event", ...}; an
//       utterance's audio as {"frames", "sampleRate"}, an output item in wire form), then
//       {"summary": {...}} with the latency, frame and main-thread figures. Same needs as `run`.
//
// --input takes any file and its content decides, as in the native CLI: JSON (first
// byte other than white space `[` or `{`) is items in wire form (an array, or one
// item); anything else (an audio file of any format) is one binary item of its bytes.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const USAGE = `usage:
  remotemedia-web --help
  remotemedia-web copy-assets DIR [--only runtime|sw]
  remotemedia-web run MANIFEST [--input FILE]... [--workers N] [--timing]
  remotemedia-web listen MANIFEST --fake-mic FILE.wav [--seconds N] [--workers N]

copy-assets   copy the SDK module (DIR/index.js, for pages without a bundler) and the
              runtime's files into DIR (or pass DIR's URL as assetsURL), and the
              service worker as DIR/remotemedia-sw.js
  --only      runtime: only the module and the runtime's files; sw: only remotemedia-sw.js
run           run a manifest (JSON or .rmpkg) in headless Chromium and print the result JSON
  --input     any file; its content decides: JSON is items in wire form, anything
              else (an audio file of any format) one binary item; repeatable
  --workers   executor workers in the pool (default: the SDK's default)
  --timing    print start-up and run times to stderr
listen        run the live (microphone) path in headless Chromium, the fake
              microphone playing a WAV file; print events as JSON lines
  --fake-mic  the WAV file the fake microphone plays (once)
  --seconds   how long to listen (default: the file's length + 1.5 s)
  --workers   executor workers in the pool`;

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  console.error(`remotemedia-web: ${message}`);
  process.exit(1);
}

function parse(argv, options) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    fail(`${e.message}\n${USAGE}`);
  }
}

/** `copy-assets DIR`: the files `assetsURL` points at, and the service worker for a site's root. */
async function copyAssets(argv) {
  const { values, positionals } = parse(argv, { only: { type: "string" } });
  if (positionals.length !== 1) fail(`copy-assets needs one folder\n${USAGE}`);
  if (values.only !== undefined && !["runtime", "sw"].includes(values.only)) fail(`--only takes runtime or sw, not ${values.only}`);
  const dir = path.resolve(positionals[0]);
  mkdirSync(dir, { recursive: true });
  const copied = [];
  if (values.only !== "sw") {
    const { ASSET_FILES } = await import(pathToFileURL(path.join(pkg, "dist/index.js")).href);
    // The SDK module itself too: a page without a bundler imports DIR/index.js, which
    // finds the runtime's files beside it (no assetsURL needed).
    for (const file of ["index.js", ...Object.values(ASSET_FILES)]) {
      copyFileSync(path.join(pkg, "dist", file), path.join(dir, file));
      copied.push(file);
      // A third-party model goes with its licence notice.
      const licence = `${file}.LICENSE.txt`;
      if (existsSync(path.join(pkg, "dist", licence))) {
        copyFileSync(path.join(pkg, "dist", licence), path.join(dir, licence));
        copied.push(licence);
      }
    }
  }
  if (values.only !== "runtime") {
    copyFileSync(path.join(pkg, "dist/sw.js"), path.join(dir, "remotemedia-sw.js"));
    copied.push("remotemedia-sw.js");
  }
  console.log(`copied ${copied.length} file(s) into ${dir}: ${copied.join(", ")}`);
}

function runOptions(argv) {
  const { values, positionals } = parse(argv, {
    input: { type: "string", short: "i", multiple: true, default: [] },
    workers: { type: "string" },
    timing: { type: "boolean", default: false },
  });
  if (positionals.length !== 1) fail(`run needs one manifest path\n${USAGE}`);
  return { manifest: positionals[0], inputs: values.input, workers: workerCount(values.workers), timing: values.timing };
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

/**
 * A manifest file: JSON, or an .rmpkg package (a zip), passed to the page as its bytes
 * (`{ rmpkg: [...] }`; the SDK reads packages itself, as `rm.run(bytes)`).
 */
function readManifest(file) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    fail(`cannot read ${file}: ${e.message}`);
  }
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return { rmpkg: bytes.toString("base64") };
  return readJson(file);
}

/**
 * Inputs in wire form, each with where it came from (`FILE` or `FILE: $[i]`, for errors);
 * audio files become binary envelopes.
 */
function readInputs(files) {
  const items = [];
  const labels = [];
  for (const file of files) {
    let bytes;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      fail(`cannot read ${file}: ${e.message}`);
    }
    const text = bytes.toString("latin1").replace(/^\xEF\xBB\xBF/, "").trimStart();
    if (text.startsWith("[") || text.startsWith("{")) {
      const value = readJson(file);
      const list = Array.isArray(value) ? value : [value];
      items.push(...list);
      labels.push(...list.map((_, i) => `${file}: $[${i}]`)); // one item is item 0, as natively
    } else {
      items.push({ __binary__: true, binary: { meta: {}, data: bytes.toString("base64") } });
      labels.push(file);
    }
  }
  return { items, labels };
}

/** Length of a PCM WAV file in seconds, from its header (data size / byte rate). */
function wavSeconds(file) {
  const bytes = readFileSync(file);
  if (bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE") fail(`${file} is not a WAV file (--fake-mic takes WAV)`);
  let at = 12;
  let byteRate = 0;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString("ascii", at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === "fmt ") byteRate = bytes.readUInt32LE(at + 16);
    if (id === "data" && byteRate > 0) return Math.min(size, bytes.length - at - 8) / byteRate;
    at += 8 + size + (size & 1);
  }
  fail(`${file}: no fmt or data chunk`);
}

/** `listen MANIFEST --fake-mic FILE.wav`: the live path, events as JSON lines. */
async function listenCommand(argv) {
  const { values, positionals } = parse(argv, { "fake-mic": { type: "string" }, seconds: { type: "string" }, workers: { type: "string" } });
  if (positionals.length !== 1) fail(`listen needs one manifest path\n${USAGE}`);
  const mic = values["fake-mic"];
  if (!mic) fail(`listen needs --fake-mic FILE.wav (headless Chromium has no real microphone)\n${USAGE}`);
  const seconds = values.seconds === undefined ? wavSeconds(mic) + 1.5 : Number(values.seconds);
  if (!(seconds > 0 && seconds <= 24 * 3600)) fail(`--seconds takes a number of seconds from 0 to 86400, not ${JSON.stringify(values.seconds)}`);
  const workers = workerCount(values.workers);
  const manifest = readManifest(positionals[0]);
  const { fakeMicrophoneFlags } = await browserTools("listen");
  return inHarness("listen", fakeMicrophoneFlags(path.resolve(mic)), async (page) => {
    await page.exposeFunction("__remotemediaEvent", (line) => process.stdout.write(`${line}\n`));
    const outcome = await page.evaluate(
      async ({ manifest, seconds, workers }) => {
        const { RemoteMedia, toWire } = window.sdk;
        // An event's utterance audio is summarised; an output item (`data`) is printed in
        // its wire form, as the native CLI prints items; any other typed array as numbers.
        const asJson = (_key, value) => (ArrayBuffer.isView(value) ? Array.from(value) : value);
        const print = (event) => {
          const line = { ...event };
          if (line.audio) line.audio = { frames: line.audio.length, sampleRate: line.sampleRate };
          delete line.sampleRate;
          if (line.data !== undefined) line.data = toWire(line.data);
          window.__remotemediaEvent(JSON.stringify({ t: line.t, node: line.node, event: line.event, ...line }, asJson));
        };
        let rm;
        try {
          rm = await RemoteMedia.create(workers ? { workers } : {});
          const file = manifest.rmpkg ? Uint8Array.from(atob(manifest.rmpkg), (c) => c.charCodeAt(0)) : manifest;
          const listener = await rm.listen(file, { onEvent: print });
          await new Promise((r) => setTimeout(r, seconds * 1000));
          await listener.stop();
          const stats = listener.stats();
          await listener.destroy();
          return { ok: true, json: JSON.stringify({ summary: stats }) };
        } catch (e) {
          return { ok: false, json: JSON.stringify({ status: "error", error: typeof e.toJSON === "function" ? e.toJSON() : { kind: "error", name: e.name, message: e.message } }), message: `${e.name}: ${e.message}` };
        } finally {
          await rm?.terminate();
        }
      },
      { manifest, seconds, workers },
    );
    return outcome;
  });
}

/**
 * Serves the package, opens the SDK's harness page in headless Chromium (with
 * `extraArgs`), and runs `body(page)`, which resolves with `{ok, json, message}`: prints
 * `json` on stdout and, on failure, `message` on stderr. Resolves with the exit status.
 */
async function inHarness(command, extraArgs, body) {
  const { launch, serve } = await browserTools(command);
  const server = await serve(pkg);
  let browser;
  try {
    browser = await launch(extraArgs);
    const page = await browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/node/harness.html`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 }).catch(() => {
      throw new Error(`the SDK did not load in Chromium${pageErrors.length ? `: ${pageErrors.join("; ")}` : ""}`);
    });
    const outcome = await body(page);
    process.stdout.write(`${outcome.json}\n`);
    if (outcome.ok) return 0;
    console.error(`remotemedia-web: ${outcome.message}`);
    return 1;
  } catch (e) {
    console.error(`remotemedia-web: ${e.message}`);
    return 1;
  } finally {
    await browser?.close();
    await server.close();
  }
}

/** `--workers`: undefined, or a whole number from 1 to 64. */
function workerCount(value) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) fail(`--workers takes a whole number from 1 to 64, not ${JSON.stringify(value)}`);
  return n;
}

/** The optional peer dependencies `run` and `listen` need: a browser driver and a static server. */
async function browserTools(command) {
  try {
    const { launch, fakeMicrophoneFlags } = await import("../node/chromium.mjs");
    const { serve } = await import("../node/server.mjs");
    return { launch, fakeMicrophoneFlags, serve };
  } catch (e) {
    fail(`${command} needs the optional peer dependencies playwright-core and sirv (npm install --save-dev playwright-core sirv) and a system Chromium: ${e.message}`);
  }
}

/** `run MANIFEST [--input FILE]...`: one batch run, the result JSON as the native CLI prints it. */
async function runCommand(argv) {
  const opts = runOptions(argv);
  const manifest = readManifest(opts.manifest);
  const inputs = readInputs(opts.inputs);
  return inHarness("run", [], async (page) => {
    const outcome = await page.evaluate(
      async ({ manifest, inputs, workers }) => {
        const { RemoteMedia, InputError, fromWire } = window.sdk;
        const t0 = performance.now();
        let rm;
        let pythonMs = 0;
        const onProgress = (e) => {
          if (e.stage === "Python ready") pythonMs = e.elapsedMs;
        };
        try {
          rm = await RemoteMedia.create(workers ? { workers, onProgress } : { onProgress });
          const tReady = performance.now();
          const file = manifest.rmpkg ? Uint8Array.from(atob(manifest.rmpkg), (c) => c.charCodeAt(0)) : manifest;
          // Input files hold wire items: decoded by the SDK's wire decoder (tested against
          // the runtime's vectors), so a bad envelope is refused as the native CLI refuses it.
          const items = inputs.items.map((item, i) => {
            try {
              return fromWire(item);
            } catch (e) {
              throw new InputError(`${inputs.labels[i]}${e.message.replace(/^\$/, "")}`);
            }
          });
          const result = await rm.run(file, items, { decode: false });
          // The runtime's JSON, as the native CLI prints it: each item once, sinks as indices.
          const byNode = Object.fromEntries(Object.entries(result.outputs_by_node).map(([sink, items]) => [sink, items.map((item) => result.outputs.indexOf(item))]));
          return { ok: true, json: JSON.stringify({ ...result, outputs_by_node: byNode }), startMs: tReady - t0, pythonMs, runMs: performance.now() - tReady - pythonMs };
        } catch (e) {
          // The SDK's errors give the runtime's error JSON, the native CLI's shape.
          const error = typeof e.toJSON === "function" ? e.toJSON() : { kind: "error", name: e.name, message: e.message };
          return { ok: false, json: JSON.stringify({ status: "error", error }), message: `${e.name}: ${e.message}` };
        } finally {
          await rm?.terminate();
        }
      },
      { manifest, inputs, workers: opts.workers },
    );
    if (opts.timing && outcome.ok) {
      const python = outcome.pythonMs ? `, Pyodide start ${outcome.pythonMs.toFixed(0)} ms` : "";
      console.error(`executor pool start ${outcome.startMs.toFixed(1)} ms${python}, run ${outcome.runMs.toFixed(1)} ms`);
    }
    return outcome;
  });
}

const [command, ...rest] = process.argv.slice(2);
if (command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (command === "copy-assets") {
  await copyAssets(rest);
  process.exit(0);
}
if (command === "listen") process.exit(await listenCommand(rest));
if (command === "run") process.exit(await runCommand(rest));
fail(command ? `unknown command ${command}\n${USAGE}` : USAGE);
