/// <reference lib="webworker" />
/**
 * Starting Pyodide in an interpreter worker: from a memory snapshot when this build has
 * one (Cache API), with the runtime files the worker already fetched and checked.
 */
import { loadPyodide } from "pyodide";
import type { AssetURLs } from "../../assets.js";
import type { PythonStartup } from "../../protocol/python.js";

declare const self: DedicatedWorkerGlobalScope;

export interface PyProxy {
  (arg: string): string;
  destroy(): void;
}
export interface Pyodide {
  makeMemorySnapshot(): Uint8Array;
  runPython(code: string): unknown;
  unpackArchive(buffer: Uint8Array, format: string, options?: { extractDir?: string }): void;
  pyimport(name: string): { handle: PyProxy };
  loadPackage(
    names: string[],
    options?: { errorCallback?: (message: string) => void; messageCallback?: (message: string) => void },
  ): Promise<unknown>;
  loadedPackages: Record<string, string>;
  setInterruptBuffer(buffer: Int32Array): void;
}

export type LoadOptions = Parameters<typeof loadPyodide>[0] & {
  _makeSnapshot?: boolean;
  _loadSnapshot?: Uint8Array;
};

/**
 * Memory snapshots of the started interpreter (Pyodide's `_makeSnapshot` /
 * `_loadSnapshot`, private in 314.x): a warm start restores one instead of booting
 * CPython (bench/results/python.md has the figures). Kept in
 * the Cache API under this build's cache (`cacheName`, from the page), so a new build or
 * clearCache() drops it; taken before the remotemedia package is installed (its files
 * live outside wasm memory). `given` is a copy of it from the host (which read it once):
 * interpreters after the first restore that instead of reading the cache each time.
 */
export async function loadWithSnapshot(
  options: LoadOptions,
  cacheName: string | null,
  given?: Uint8Array,
): Promise<{ py: Pyodide; snapshot: PythonStartup["snapshot"] }> {
  const load = (extra: Partial<LoadOptions>) => loadPyodide({ ...options, ...extra }) as unknown as Promise<Pyodide>;
  if (!cacheName || typeof caches === "undefined") return { py: await load({}), snapshot: "off" };
  const restore = async (bytes: ArrayBuffer) => {
    const py = await load({ _loadSnapshot: new Uint8Array(bytes) });
    // Pyodide keeps its start options (so the snapshot's bytes) for the interpreter's
    // life, after copying them into its memory: detaching frees them now.
    release(bytes);
    return py;
  };
  if (given) {
    try {
      return { py: await restore(given.buffer as ArrayBuffer), snapshot: "loaded" };
    } catch {
      // not this build's: read the cache as the first interpreter did
    }
  }
  const key = snapshotKey(options!.indexURL!);
  const cache = await caches.open(cacheName).catch(() => null);
  const hit = await cache?.match(key);
  if (hit) {
    try {
      return { py: await restore(await hit.arrayBuffer()), snapshot: "loaded" };
    } catch {
      await cache?.delete(key); // a bad snapshot is dropped; boot normally below
    }
  }
  try {
    const py = await load({ _makeSnapshot: true });
    const bytes = py.makeMemorySnapshot();
    await cache?.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/octet-stream" } }));
    return { py, snapshot: "made" };
  } catch {
    return { py: await load({}), snapshot: "failed" };
  }
}

/** The Cache API key of the memory snapshot of interpreters started from `indexURL` (Pyodide's folder). */
export function snapshotKey(indexURL: string): string {
  return new URL("remotemedia-interpreter.snapshot", indexURL).href;
}

/** Frees an ArrayBuffer's memory now, whoever still refers to it (it reads as empty afterwards). */
function release(buffer: ArrayBuffer): void {
  const transfer = (buffer as { transfer?: (length: number) => ArrayBuffer }).transfer;
  if (transfer) transfer.call(buffer, 0);
  else structuredClone(buffer, { transfer: [buffer] });
}

/**
 * Pyodide's core files: the shipped ones (`assets`), or a full distribution's
 * (`indexURL`); `base` is the folder Pyodide is started from (its `indexURL`).
 */
export function pyodideFiles(
  assets: AssetURLs,
  indexURL: string | undefined,
): { wasm: string; stdlib: string; lock: string | null; base: string } {
  const core = indexURL
    ? {
        wasm: new URL("pyodide.asm.wasm", indexURL).href,
        stdlib: new URL("python_stdlib.zip", indexURL).href,
        lock: new URL("pyodide-lock.json", indexURL).href,
      }
    : { wasm: assets.pyodideWasm, stdlib: assets.pythonStdlib, lock: null }; // the shipped lock is bundled in
  return { ...core, base: indexURL ?? new URL(".", core.wasm).href }; // a folder: the query is dropped
}

/**
 * Runs `run` (Pyodide's start) with the runtime files this worker already has. Pyodide
 * always fetches its WebAssembly from `indexURL + "pyodide.asm.wasm"` (a name a bundler
 * changes) and instantiates the response: that fetch is answered with a placeholder and
 * its instantiation with `pyodide`, the module the host compiled once for every
 * interpreter (each interpreter then compiles nothing and shares the compiled code).
 * `files` answer other URLs (the stdlib) from bytes fetched and checked already; every
 * other request goes to the network as usual.
 */
export async function withRuntimeFiles<T>(
  wasmURL: string,
  pyodide: WebAssembly.Module,
  files: Map<string, Uint8Array>,
  run: () => Promise<T>,
): Promise<T> {
  const originalFetch = self.fetch;
  const originalStreaming = WebAssembly.instantiateStreaming;
  const placeholders = new WeakSet<Response>();
  self.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url === wasmURL) {
      const placeholder = new Response(new Uint8Array(0), { headers: { "content-type": "application/wasm" } });
      placeholders.add(placeholder);
      return Promise.resolve(placeholder);
    }
    const bytes = files.get(url);
    if (bytes) return Promise.resolve(new Response(bytes as Uint8Array<ArrayBuffer>));
    return originalFetch.call(self, input, init);
  };
  WebAssembly.instantiateStreaming = async (source: Response | PromiseLike<Response>, imports?: WebAssembly.Imports) => {
    const response = await source;
    if (!placeholders.has(response)) return originalStreaming.call(WebAssembly, response, imports);
    return { module: pyodide, instance: await WebAssembly.instantiate(pyodide, imports) };
  };
  try {
    return await run();
  } finally {
    self.fetch = originalFetch;
    WebAssembly.instantiateStreaming = originalStreaming;
  }
}
