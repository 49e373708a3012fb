/// <reference lib="webworker" />
/**
 * Entry script of the Python worker: loads Pyodide (from the copy of the `pyodide`
 * npm package shipped in this package, or from `indexURL`), installs the
 * `remotemedia` Python package, and serves Python-node requests from executor
 * workers over MessagePorts, one at a time (Pyodide is single-threaded).
 */
import { BUILD } from "../build-info.js";
import { PYTHON_PACKAGE_FILES } from "../protocol.js";
import type { FromPython, PythonRequest, PythonResponse, PythonStartup, ToPython } from "../protocol.js";

declare const self: DedicatedWorkerGlobalScope;

interface PyProxy {
  (arg: string): string;
  destroy(): void;
}
interface Pyodide {
  FS: { mkdirTree(path: string): void; writeFile(path: string, data: string): void };
  makeMemorySnapshot(): Uint8Array;
  runPython(code: string): unknown;
  pyimport(name: string): { handle: PyProxy; node_types: () => { toJs(): string[] } };
  loadPackage(names: string[]): Promise<unknown>;
}

const started = performance.now();
let handle: PyProxy | null = null;
let pyodide: Pyodide | null = null;
const loadedPackages = new Set<string>();
let queue: Promise<unknown> = Promise.resolve();
let ready: Promise<void> = new Promise(() => {});

function send(message: FromPython): void {
  self.postMessage(message);
}

function progress(stage: string): void {
  send({ type: "progress", stage, elapsedMs: performance.now() - started });
}

interface LoadOptions {
  indexURL: string;
  _makeSnapshot?: boolean;
  _loadSnapshot?: Uint8Array;
}

/**
 * Memory snapshots of the started interpreter (Pyodide's `_makeSnapshot` /
 * `_loadSnapshot`, private in 314.x): a warm start restores one instead of booting
 * CPython and unpacking the stdlib (measured here: 0.19 s instead of 3.2 s). Kept in
 * the Cache API under this build's cache, so a new build or clearCache() drops it;
 * taken before the remotemedia package is installed (its files live outside wasm memory).
 */
const SNAPSHOT_CACHE = `remotemedia-web-${BUILD.version}-${BUILD.hash}`;

function snapshotKey(indexURL: string): string {
  return new URL("remotemedia-interpreter.snapshot", indexURL).href;
}

async function loadWithSnapshot(
  loadPyodide: (o: LoadOptions) => Promise<Pyodide>,
  indexURL: string,
  enabled: boolean,
): Promise<{ py: Pyodide; snapshot: PythonStartup["snapshot"] }> {
  if (!enabled || typeof caches === "undefined") return { py: await loadPyodide({ indexURL }), snapshot: "off" };
  const key = snapshotKey(indexURL);
  const cache = await caches.open(SNAPSHOT_CACHE).catch(() => null);
  const hit = await cache?.match(key);
  if (hit) {
    try {
      return { py: await loadPyodide({ indexURL, _loadSnapshot: new Uint8Array(await hit.arrayBuffer()) }), snapshot: "loaded" };
    } catch {
      await cache?.delete(key); // a bad snapshot is dropped; boot normally below
    }
  }
  try {
    const py = await loadPyodide({ indexURL, _makeSnapshot: true });
    const bytes = py.makeMemorySnapshot();
    await cache?.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/octet-stream" } }));
    return { py, snapshot: "made" };
  } catch {
    return { py: await loadPyodide({ indexURL }), snapshot: "failed" };
  }
}

async function start(indexURL: string, pythonURL: string, useSnapshot: boolean): Promise<void> {
  progress("loading Pyodide");
  // Fetch the Python package while Pyodide starts.
  const sources = Promise.all(
    PYTHON_PACKAGE_FILES.map(async (file) => {
      const response = await fetch(new URL(`remotemedia/${file}`, pythonURL));
      if (!response.ok) throw new Error(`could not fetch remotemedia/${file}: HTTP ${response.status}`);
      return [file, await response.text()] as const;
    }),
  );
  const tLoad = performance.now();
  const module = (await import(/* @vite-ignore */ new URL("pyodide.mjs", indexURL).href)) as {
    loadPyodide(options: LoadOptions): Promise<Pyodide>;
  };
  const { py, snapshot } = await loadWithSnapshot(module.loadPyodide, indexURL, useSnapshot);
  const tInstall = performance.now();
  progress("installing the remotemedia package");
  py.FS.mkdirTree("/home/pyodide/remotemedia");
  for (const [file, text] of await sources) py.FS.writeFile(`/home/pyodide/remotemedia/${file}`, text);
  py.runPython("import sys\nif '/home/pyodide' not in sys.path: sys.path.insert(0, '/home/pyodide')");
  const tImport = performance.now();
  const bridge = py.pyimport("remotemedia.bridge");
  handle = bridge.handle;
  pyodide = py;
  const nodeTypes = py.pyimport("remotemedia").node_types().toJs();
  const end = performance.now();
  send({ type: "ready", nodeTypes, startMs: end - started, breakdown: breakdown(snapshot, indexURL, tLoad, tInstall, tImport, end) });
}

/** The start-up timeline; fetch time from the Resource Timing entries of Pyodide's files. */
function breakdown(snapshot: PythonStartup["snapshot"], indexURL: string, tLoad: number, tInstall: number, tImport: number, end: number): PythonStartup {
  const fetches = performance.getEntriesByType("resource").filter((e) => e.name.startsWith(indexURL)) as PerformanceResourceTiming[];
  const fetchMs = fetches.length ? Math.max(...fetches.map((e) => e.responseEnd)) - Math.min(...fetches.map((e) => e.startTime)) : 0;
  return { snapshot, fetchMs, loadPyodideMs: tInstall - tLoad, installMs: tImport - tInstall, importMs: end - tImport, totalMs: end - started };
}

/** Loads the Pyodide packages a manifest asks for (needs their index to be reachable). */
async function ensurePackages(request: string): Promise<string | null> {
  if (!request.includes('"packages"')) return null;
  const parsed = JSON.parse(request) as { op?: string; python?: { packages?: string[] } | null };
  const wanted = (parsed.op === "create" ? parsed.python?.packages ?? [] : []).filter((p) => !loadedPackages.has(p));
  if (wanted.length === 0 || !pyodide) return null;
  try {
    await pyodide.loadPackage(wanted);
    wanted.forEach((p) => loadedPackages.add(p));
    return null;
  } catch (err) {
    return JSON.stringify({
      error: { message: `could not load Python packages ${wanted.join(", ")}: ${String((err as Error)?.message ?? err)}`, traceback: null },
    });
  }
}

async function serve(request: string): Promise<string> {
  await ready; // requests that arrive during start-up wait for it
  if (!handle) return JSON.stringify({ error: { message: "Python is not ready", traceback: null } });
  const failure = await ensurePackages(request);
  return failure ?? handle(request);
}

function connect(port: MessagePort): void {
  port.onmessage = (event: MessageEvent<PythonRequest>) => {
    const { id, request } = event.data ?? {};
    if (typeof id !== "number" || typeof request !== "string") return;
    // One request at a time, in arrival order across all executor workers.
    queue = queue.then(async () => {
      let response: string;
      try {
        response = await serve(request);
      } catch (err) {
        response = JSON.stringify({ error: { message: String((err as Error)?.message ?? err), traceback: null } });
      }
      port.postMessage({ id, response } satisfies PythonResponse);
    });
  };
}

self.onmessage = (event: MessageEvent<ToPython>) => {
  const message = event.data;
  if (message?.type === "init") {
    ready = start(message.indexURL, message.pythonURL, message.snapshot !== false).catch((err: unknown) => {
      send({ type: "fatal", message: `Pyodide failed to start: ${String((err as Error)?.message ?? err)}` });
    });
  } else if (message?.type === "connect" && message.port) {
    connect(message.port);
  }
};
