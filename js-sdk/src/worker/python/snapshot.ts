/// <reference lib="webworker" />
/**
 * Starting Pyodide in an interpreter worker: from a memory snapshot when this build has
 * one (Cache API), with the runtime files the worker already fetched and checked.
 */
import { loadPyodide } from "pyodide";
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
 * CPython and unpacking the stdlib (measured here: 0.19 s instead of 3.2 s). Kept in
 * the Cache API under this build's cache (`cacheName`, from the page), so a new build or
 * clearCache() drops it; taken before the remotemedia package is installed (its files
 * live outside wasm memory).
 */
export async function loadWithSnapshot(
  options: LoadOptions,
  cacheName: string | null,
): Promise<{ py: Pyodide; snapshot: PythonStartup["snapshot"] }> {
  const load = (extra: Partial<LoadOptions>) => loadPyodide({ ...options, ...extra }) as unknown as Promise<Pyodide>;
  if (!cacheName || typeof caches === "undefined") return { py: await load({}), snapshot: "off" };
  const key = new URL("remotemedia-interpreter.snapshot", options!.indexURL).href;
  const cache = await caches.open(cacheName).catch(() => null);
  const hit = await cache?.match(key);
  if (hit) {
    try {
      return { py: await load({ _loadSnapshot: new Uint8Array(await hit.arrayBuffer()) }), snapshot: "loaded" };
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

/**
 * Pyodide always fetches its WebAssembly from `indexURL + "pyodide.asm.wasm"`, a name a
 * bundler changes. While it starts, that one URL is answered from the bytes already
 * fetched and checked; every other request goes to the network as usual.
 */
export async function withPrefetched<T>(files: Map<string, Uint8Array>, run: () => Promise<T>): Promise<T> {
  const original = self.fetch;
  self.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const bytes = files.get(url);
    if (bytes) return Promise.resolve(new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/wasm" } }));
    return original.call(self, input, init);
  };
  try {
    return await run();
  } finally {
    self.fetch = original;
  }
}
