/// <reference lib="webworker" />
/**
 * One Python interpreter, in a worker of its own (nested in the Python worker, which
 * starts one per interpreter scope: see host.ts): starts Pyodide, installs the
 * `remotemedia` Python package, and serves the Python-node requests the host forwards,
 * one at a time (Pyodide is single-threaded).
 *
 * Pyodide's loader and its Emscripten glue are bundled into this script at build time
 * (so an app's bundler sees one worker and no Node.js imports); its data files arrive as
 * URLs from the page (`assets`), each named there by a literal `new URL(...)` so that the
 * app's bundler emits them. Every file is fetched and checked here first: a missing file
 * fails with its URL and what the server answered, never a hang inside Pyodide.
 * Pyodide's package lock is bundled in as text: bundlers turn a JSON file into a module
 * of their own (Parcel does, even behind `new URL(...)`), so it is no runtime file.
 */
import type { loadPyodide } from "pyodide";
import createPyodideModule from "pyodide/pyodide.asm.mjs";
import SHIPPED_LOCK from "pyodide/pyodide-lock.json";
import { fetchAsset } from "../../assets.js";
import { AssetError } from "../../errors.js";
import { CANCELLED_FIRST, INTERRUPT_SLOT, RUNNING_SLOT } from "../../protocol/python.js";
import type {
  FromInterpreter,
  PythonRequest,
  PythonResponse,
  PythonStartup,
  ToInterpreter,
  ToInterpreterControl,
} from "../../protocol/python.js";

import { harden } from "./sandbox.js";
import { loadWithSnapshot, pyodideFiles, withRuntimeFiles } from "./snapshot.js";
import type { LoadOptions, PyProxy, Pyodide } from "./snapshot.js";

declare const self: DedicatedWorkerGlobalScope;

const started = performance.now();
let handle: PyProxy | null = null;
/** How many node instances the interpreter holds (`remotemedia.bridge.live_instances`). */
let liveInstances: (() => number) | null = null;
/** The instance the last handled request created (`remotemedia.bridge.last_created`). */
let lastCreated: (() => number | undefined) | null = null;
let pyodide: Pyodide | null = null;
const loadedPackages = new Set<string>();
let queue: Promise<unknown> = Promise.resolve();
let ready: Promise<void> = new Promise(() => {});

/**
 * The private channel to the host (given with the first message): every message out of
 * this worker goes over it. After start-up the worker's own `postMessage` is removed
 * (see {@link harden}), so Python code cannot post to the host or the page.
 */
let control: MessagePort | null = null;

function send(message: FromInterpreter): void {
  control?.postMessage(message);
}

function progress(stage: string): void {
  send({ type: "progress", stage });
}

async function start(message: ToInterpreter): Promise<void> {
  const { assets, indexURL, snapshotCache, loadStallMs, pyodide: compiled, snapshot: given } = message;
  progress("loading Pyodide");
  const core = pyodideFiles(assets, indexURL);
  const base = core.base;
  // The WebAssembly came compiled from the host (fetched and checked there, once).
  const [stdlib, lock, pythonPackage] = await Promise.all([
    fetchAsset(core.stdlib, "zip", loadStallMs),
    core.lock ? fetchAsset(core.lock, "json", loadStallMs).then((bytes) => new TextDecoder().decode(bytes)) : SHIPPED_LOCK,
    fetchAsset(assets.pythonPackage, "zip", loadStallMs),
  ]);
  const tLoad = performance.now();
  const options: LoadOptions = {
    indexURL: base,
    stdLibURL: core.stdlib,
    lockFileContents: lock,
    packageBaseUrl: base,
    createPyodideModule: createPyodideModule as NonNullable<Parameters<typeof loadPyodide>[0]>["createPyodideModule"],
  };
  const wasmURL = new URL("pyodide.asm.wasm", base).href;
  const files = new Map([[core.stdlib, stdlib]]);
  const { py, snapshot } = await withRuntimeFiles(wasmURL, compiled, files, () => loadWithSnapshot(options, snapshotCache, given));
  const tInstall = performance.now();
  progress("installing the remotemedia package");
  py.unpackArchive(pythonPackage, "zip", { extractDir: "/home/pyodide" });
  py.runPython("import sys\nif '/home/pyodide' not in sys.path: sys.path.insert(0, '/home/pyodide')");
  const tImport = performance.now();
  const bridge = py.pyimport("remotemedia.bridge") as unknown as {
    handle: PyProxy;
    live_instances(): number;
    last_created(): number | undefined;
    use_interrupts(check: () => boolean): void;
  };
  if (interrupts) {
    py.setInterruptBuffer(interrupts.subarray(INTERRUPT_SLOT, INTERRUPT_SLOT + 1));
    bridge.use_interrupts(currentRunCancelled);
  }
  handle = bridge.handle;
  liveInstances = () => bridge.live_instances();
  lastCreated = () => bridge.last_created() ?? undefined;
  pyodide = py;
  const end = performance.now();
  const reachable = harden(network);
  if (reachable.length > 0) throw new Error(`could not remove ${reachable.join(", ")} from the Python worker's scope`);
  send({
    type: "ready",
    startMs: end - started,
    breakdown: breakdown(snapshot, [core.wasm, core.stdlib, core.lock ?? "", assets.pythonPackage], tLoad, tInstall, tImport, end),
    interrupts: interrupts !== null,
    network,
  });
}

/** The start-up timeline; fetch time from the Resource Timing entries of the runtime's files. */
function breakdown(
  snapshot: PythonStartup["snapshot"],
  urls: string[],
  tLoad: number,
  tInstall: number,
  tImport: number,
  end: number,
): PythonStartup {
  const fetches = performance.getEntriesByType("resource").filter((e) => urls.includes(e.name)) as PerformanceResourceTiming[];
  const fetchMs = fetches.length ? Math.max(...fetches.map((e) => e.responseEnd)) - Math.min(...fetches.map((e) => e.startTime)) : 0;
  return {
    snapshot,
    fetchMs,
    loadPyodideMs: tInstall - tLoad,
    installMs: tImport - tInstall,
    importMs: end - tImport,
    totalMs: end - started,
  };
}

/** Loads the Python packages a manifest asks for (they need a Pyodide distribution that has them). */
async function loadPackages(packages: string[]): Promise<string> {
  await ready;
  // Names only (the runtime's validation says the same): a URL would load code from anywhere.
  const bad = packages.filter((p) => typeof p !== "string" || !/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/.test(p));
  if (bad.length > 0) return JSON.stringify({ error: { message: `not package names: ${bad.map(String).join(", ")}`, traceback: null } });
  if (!network && packages.length > 0)
    return JSON.stringify({
      error: {
        message: `Python packages cannot be loaded: this RemoteMedia instance has no Python network access (pythonNetwork: false); asked for ${packages.join(", ")}`,
        traceback: null,
      },
    });
  const wanted = packages.filter((p) => !loadedPackages.has(p));
  if (wanted.length === 0) return "{}";
  if (!pyodide) return JSON.stringify({ error: { message: "Python is not ready", traceback: null } });
  const errors: string[] = [];
  const failed = (detail: string) =>
    JSON.stringify({ error: { message: `could not load Python packages ${wanted.join(", ")}: ${detail}`, traceback: null } });
  try {
    // Pyodide reports a package it could not load through errorCallback and resolves:
    // what counts is what it has loaded afterwards.
    await pyodide.loadPackage(wanted, { errorCallback: (m) => errors.push(m), messageCallback: () => undefined });
  } catch (err) {
    return failed(String((err as Error)?.message ?? err));
  }
  const missing = wanted.filter((p) => !(p in pyodide!.loadedPackages));
  if (missing.length > 0) {
    // The SDK ships Pyodide's core only (npm `pyodide`); no registry offers Pyodide (wasm32)
    // wheels of packages such as numpy, so they come from a full distribution the app hosts.
    const why = errors.join("; ") || "no such package in this Pyodide distribution";
    return failed(
      `Python package ${missing.map((p) => `"${p}"`).join(", ")} is not in this Pyodide distribution (${why}): the SDK ships Pyodide's core only; host a full Pyodide distribution that has it and pass RemoteMedia.create({ indexURL })`,
    );
  }
  for (const p of wanted) loadedPackages.add(p);
  return "{}";
}

/** A bridge answer, and the node instance it created, if any (read from the bridge, not the text). */
interface Served {
  response: string;
  created?: number;
}

function handled(request: string): Served {
  const response = handle!(request) as string;
  const created = lastCreated?.();
  return typeof created === "number" ? { response, created } : { response };
}

async function serve(request: string, run: number | undefined): Promise<Served> {
  await ready; // requests that arrive during start-up wait for it
  if (!handle) return { response: JSON.stringify({ error: { message: "Python is not ready", traceback: null } }) };
  if (!interrupts || run === undefined) return handled(request);
  // Publish the run before reading the cancelled list (the page writes the list before
  // reading this slot): a run cancelled at the same moment is either skipped here or
  // interrupted by the page, never missed.
  Atomics.store(interrupts, RUNNING_SLOT, run);
  try {
    if (isCancelled(run))
      return {
        response: JSON.stringify({ error: { message: `run ${run} was cancelled before its Python work started`, traceback: null } }),
      };
    return handled(request);
  } finally {
    Atomics.store(interrupts, RUNNING_SLOT, 0);
  }
}

/**
 * Interrupts (cross-origin isolated pages only): a SharedArrayBuffer shared with the
 * page, laid out as protocol.ts says (`INTERRUPT_SLOT`, `RUNNING_SLOT`, then the ring of
 * cancelled runs). Slot 0 is Pyodide's interrupt
 * buffer (the page writes 2, SIGINT); the Python handler installed by
 * `remotemedia.bridge.use_interrupts` raises only when the run Python is serving is on
 * the cancelled list, so a late signal never stops another run.
 */
let interrupts: Int32Array | null = null;

function isCancelled(run: number): boolean {
  if (!interrupts) return false;
  for (let i = CANCELLED_FIRST; i < interrupts.length; i++) if (Atomics.load(interrupts, i) === run) return true;
  return false;
}

/** Whether the run Python is serving now was cancelled (called from the SIGINT handler). */
function currentRunCancelled(): boolean {
  const run = interrupts ? Atomics.load(interrupts, RUNNING_SLOT) : 0;
  return run !== 0 && isCancelled(run);
}

/** Whether Python code may use the network (`pythonNetwork`); packages need it. */
let network = true;

function connect(port: MessagePort): void {
  port.onmessage = (event: MessageEvent<PythonRequest>) => {
    const message = event.data;
    const id = message?.id;
    if (typeof id !== "number") return;
    const run = "run" in message && typeof message.run === "number" ? message.run : undefined;
    const work: (() => Promise<Served>) | null =
      "packages" in message && Array.isArray(message.packages)
        ? async () => ({ response: await loadPackages(message.packages) })
        : "request" in message && typeof message.request === "string"
          ? () => serve(message.request, run)
          : null;
    if (!work) return;
    // One request at a time, in arrival order across all executor workers.
    queue = queue.then(async () => {
      let served: Served;
      try {
        served = await work();
      } catch (err) {
        served = { response: JSON.stringify({ error: { message: String((err as Error)?.message ?? err), traceback: null } }) };
      }
      port.postMessage({ id, ...served } satisfies PythonResponse);
    });
  };
}

/**
 * Starts this worker as an interpreter (the host's first message): Pyodide boots, and
 * requests arrive over the port the host sends with `connect`.
 */
export function startInterpreter(message: ToInterpreter): void {
  if (control) return;
  control = message.control;
  network = message.network;
  interrupts = message.interrupts ? new Int32Array(message.interrupts) : null;
  control.onmessage = (e: MessageEvent<ToInterpreterControl>) => {
    if (e.data?.type === "connect" && e.data.port) connect(e.data.port);
    if (e.data?.type === "live") send({ type: "live", count: liveInstances?.() ?? 0 });
  };
  ready = start(message).catch((err: unknown) => {
    const asset = err instanceof AssetError ? { url: err.url, status: err.status, contentType: err.contentType } : undefined;
    send({ type: "fatal", message: `Pyodide failed to start: ${String((err as Error)?.message ?? err)}`, asset });
  });
  // Python code can reach this worker's global scope (`import js`). If it closes the
  // worker, say so first, so the page replaces the Python worker instead of waiting.
  const closeWorker = self.close.bind(self);
  self.close = () => {
    send({ type: "fatal", message: "the Python worker was closed by Python code" });
    closeWorker();
  };
}
