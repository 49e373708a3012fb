/// <reference lib="webworker" />
/**
 * What the Python host reads once for all its interpreters (host.ts): Pyodide's compiled
 * WebAssembly and the memory snapshot's bytes.
 */
import { fetchAsset } from "../../assets.js";
import { AssetError } from "../../errors.js";
import { snapshotKey } from "./snapshot.js";

/**
 * Pyodide's WebAssembly at `url`, fetched (a download stalled `stallMs` is made once
 * more: fetchAsset), checked and compiled once in the host and
 * handed to every interpreter (a `WebAssembly.Module` crosses to a nested worker without
 * a copy of its code): each interpreter then compiles nothing. Rejects with AssetError
 * (the file's URL; a fetch, HTTP or magic-bytes failure, or code that does not compile);
 * a failure is retried by the next interpreter that needs it.
 */
let pyodideModule: Promise<WebAssembly.Module> | null = null;
export function compiledPyodide(url: string, stallMs: number): Promise<WebAssembly.Module> {
  if (!pyodideModule) {
    const compiling = fetchAsset(url, "wasm", stallMs).then((bytes) =>
      WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>).catch((err: unknown) => {
        throw new AssetError(`${url}: the WebAssembly does not compile: ${String((err as Error)?.message ?? err)}`, url);
      }),
    );
    compiling.catch(() => {
      if (pyodideModule === compiling) pyodideModule = null;
    });
    pyodideModule = compiling;
  }
  return pyodideModule;
}

/**
 * The memory snapshot the first interpreter made or restored, read once from the Cache
 * API for the interpreters after it (each restores a copy; reading the cache in every
 * interpreter left about 30 MiB more in each, measured in bench/results/python.md).
 * `snapshotCache` is this build's cache (null: snapshots off), `base` Pyodide's folder
 * (the snapshot's key). Undefined when there is none (snapshots off, or no Cache API).
 */
let snapshotBytes: Promise<Uint8Array | undefined> | null = null;
export function sharedSnapshot(snapshotCache: string | null, base: string): Promise<Uint8Array | undefined> {
  if (!snapshotCache || typeof caches === "undefined") return Promise.resolve(undefined);
  snapshotBytes ??= caches
    .open(snapshotCache)
    .then((cache) => cache.match(snapshotKey(base)))
    .then(async (hit) => (hit ? new Uint8Array(await hit.arrayBuffer()) : undefined))
    .catch(() => undefined);
  const read = snapshotBytes;
  // None yet (the first interpreter had not saved it): look again next time.
  void read.then((bytes) => {
    if (!bytes && snapshotBytes === read) snapshotBytes = null;
  });
  return read;
}
