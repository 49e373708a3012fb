/**
 * Where the runtime's files are, and fetching them with errors that say what came back.
 *
 * Every file is named by a literal `new URL("./file.ext", import.meta.url)`: the form
 * that Vite, webpack 5 and Turbopack find, emit and rename, so an app needs no
 * configuration for them. The files sit beside `dist/index.js` in the package. The
 * `assetsURL` option replaces all of them with the files under one base URL (for
 * self-hosting: `npx remotemedia-web copy-assets DIR` copies them there).
 */
import { BUILD } from "./build-info.js";
import { AssetError } from "./errors.js";
import { DEFAULT_LOAD_STALL_MS, timerDelay } from "./timers.js";

/** The runtime's files, by role. The names are the files' names in `dist/`. */
export const ASSET_FILES = {
  /** The executor worker's script (self-contained: the wasm-bindgen glue is bundled in). */
  executorWorker: "executor-worker.js",
  /** The Python worker's script (self-contained: Pyodide's loader and glue are bundled in). */
  pythonWorker: "python-worker.js",
  /** The capture AudioWorklet of live sessions (`RemoteMedia.listen`). */
  captureWorklet: "capture-worklet.js",
  /** The Rust executor (wasm-bindgen). */
  executorWasm: "remotemedia_worker_bg.wasm",
  /** Pyodide's CPython. */
  pyodideWasm: "pyodide.asm.wasm",
  /** Pyodide's standard library. */
  pythonStdlib: "python_stdlib.zip",
  /** The `remotemedia` Python package, zipped. */
  pythonPackage: "remotemedia-python.zip",
  /**
   * Silero VAD v6 (MIT, Silero Team; from npm's `@ricky0123/vad-web`), for `SileroVADNode`:
   * fetched only for manifests that use it, and cached by the service worker on first use.
   */
  sileroVad: "silero_vad_v6.onnx",
} as const;

/** Files fetched only when a manifest needs them (the validation report's `models`), never precached. */
export const ON_DEMAND_ASSETS: readonly AssetName[] = ["sileroVad"];

/** A role of {@link ASSET_FILES}. */
export type AssetName = keyof typeof ASSET_FILES;

/** Absolute URLs of the runtime's data files, by role. */
export type AssetURLs = Record<AssetName, string>;

/**
 * Resolves a self-hosting base (`assetsURL`): relative URLs are taken against the page
 * (`document.baseURI`, or the worker's location). Throws AssetError for a URL that
 * cannot be parsed.
 */
export function resolveBase(base: string | URL): URL {
  const doc = (globalThis as { document?: { baseURI: string } }).document;
  const page = doc ? doc.baseURI : globalThis.location?.href;
  try {
    const url = new URL(base, page);
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    return url;
  } catch {
    throw new AssetError(
      `assetsURL ${JSON.stringify(String(base))} is not a valid URL (relative to ${page ?? "nothing: no page"})`,
      String(base),
    );
  }
}

/**
 * The URLs of the runtime's files: under `base` when self-hosting, else where the
 * bundler (or the package folder) put them. Each carries `?v=<build hash>`: the service
 * worker serves a cached file only to a page of its own build, so a page never runs
 * one build's SDK with another's runtime. A `data:` or `blob:` URL (a bundler may inline
 * a small file, as Vite does under 4 KiB) is left as it is.
 */
export function assetURLs(base?: URL): AssetURLs {
  const urls = base ? Object.fromEntries(Object.entries(ASSET_FILES).map(([k, f]) => [k, new URL(f, base).href])) : bundledURLs();
  return Object.fromEntries(
    Object.entries(urls).map(([k, u]) => {
      const url = new URL(u);
      if (url.protocol === "data:" || url.protocol === "blob:") return [k, u];
      url.searchParams.set("v", BUILD.hash);
      return [k, url.href];
    }),
  ) as AssetURLs;
}

/** The package's name: where its files sit under `node_modules/`. */
const PACKAGE = "@remotemedia/web";

/**
 * A dependency pre-bundled by Vite before 8 lives in Vite's cache folder
 * (`node_modules/.vite/deps/`; Nuxt's `node_modules/.cache/vite/client/deps/`), and
 * its `new URL("./file", import.meta.url)` still points there, where the files are not.
 * Vite 8 rewrites such URLs to the package's own folder; this does the same for older ones.
 */
const PREBUNDLED = /^(.*\/node_modules\/)(?:\.vite|\.cache\/vite\/[^/]+)\/deps(?:_[^/]*)?\/[^/]*$/;

/** `url`, moved from Vite's pre-bundling cache (see {@link PREBUNDLED}) to the package's `dist/`. */
export function outOfViteCache(url: string): string {
  const parsed = new URL(url);
  const match = PREBUNDLED.exec(parsed.pathname);
  if (!match) return url;
  const file = parsed.pathname.slice(parsed.pathname.lastIndexOf("/") + 1);
  parsed.pathname = `${match[1]}${PACKAGE}/dist/${file}`;
  return parsed.href;
}

function bundledURLs(): AssetURLs {
  // Literal, one per file: bundlers only see `new URL("<literal>", import.meta.url)`.
  // Each is made absolute against the page: Turbopack's stand-in for URL has a
  // path-only `href` ("/_next/static/media/..."), which is no base for further URLs.
  // The worker scripts are named here too, outside any `new Worker(...)`: bundlers then
  // copy them as they are instead of rebuilding them, which some (webpack 5 by
  // default, Turbopack always) would turn into classic workers, where Pyodide refuses
  // to run. They need no bundling: each is one self-contained module.
  return {
    executorWorker: absolute(new URL("./executor-worker.js", import.meta.url)),
    pythonWorker: absolute(new URL("./python-worker.js", import.meta.url)),
    captureWorklet: absolute(new URL("./capture-worklet.js", import.meta.url)),
    executorWasm: absolute(new URL("./remotemedia_worker_bg.wasm", import.meta.url)),
    pyodideWasm: absolute(new URL("./pyodide.asm.wasm", import.meta.url)),
    pythonStdlib: absolute(new URL("./python_stdlib.zip", import.meta.url)),
    pythonPackage: absolute(new URL("./remotemedia-python.zip", import.meta.url)),
    sileroVad: absolute(new URL("./silero_vad_v6.onnx", import.meta.url)),
  };
}

/** `url` as an absolute URL string, resolved against the page (or the worker's location). */
function absolute(url: URL): string {
  return outOfViteCache(new URL(String(url.href), globalThis.location?.href).href);
}

/** The bootstrap module of each worker script: a `blob:` URL, made once per script. */
const bootstraps = new Map<string, string>();

/**
 * Whether workers start from a bootstrap module here: in WebKit pages that are
 * cross-origin isolated. There a worker's own script response must carry the COEP
 * header, and WebKit takes a revalidation's answer as the response: a dev server's bare
 * 304 (Vite's) on a reload has none, and WebKit refused the worker ("script error";
 * Chromium and Firefox use the stored headers). A same-origin module the bootstrap
 * imports needs no such header, and a `blob:` worker inherits the page's isolation.
 * Elsewhere workers load from their URL (Firefox's service worker did not serve the
 * requests of `blob:` workers, so offline starts failed).
 */
function startsFromBootstrap(): boolean {
  const agent = globalThis.navigator?.userAgent ?? "";
  return globalThis.crossOriginIsolated === true && /AppleWebKit/.test(agent) && !/Chrome|Chromium|Edg\//.test(agent);
}

/**
 * Starts one of the runtime's workers as a module worker (in cross-origin isolated
 * WebKit pages, through a one-line `blob:` module that imports the script: see
 * {@link startsFromBootstrap}; a Content-Security-Policy there needs `worker-src blob:`).
 * A cross-origin script (an `assetsURL` on another origin) cannot be a worker: that
 * fails here with an AssetError.
 */
export function spawnWorker(url: string, name: string): Worker {
  try {
    // Not a bootstrap where none is needed, nor one of a bootstrap (the Python host's own URL).
    if (!startsFromBootstrap() || url.startsWith("blob:")) return new Worker(url, { type: "module", name });
    if (new URL(url).origin !== globalThis.location?.origin) throw new Error("a cross-origin script");
    let bootstrap = bootstraps.get(url);
    if (!bootstrap) {
      bootstrap = URL.createObjectURL(new Blob([`import ${JSON.stringify(url)};\n`], { type: "text/javascript" }));
      bootstraps.set(url, bootstrap);
    }
    return new Worker(bootstrap, { type: "module", name });
  } catch (err) {
    throw new AssetError(
      `could not start the worker ${url}: ${String((err as Error)?.message ?? err)} (worker scripts must be on the page's origin)`,
      url,
    );
  }
}

/** The first bytes each kind of file starts with, to tell a real file from an HTML fallback page. */
const MAGIC: Record<string, number[]> = {
  wasm: [0x00, 0x61, 0x73, 0x6d],
  zip: [0x50, 0x4b, 0x03, 0x04],
  // An ONNX model is a protobuf whose first field is ir_version (field 1, a varint).
  onnx: [0x08],
};

/**
 * Fetches a runtime file and checks it is what it should be: HTTP success, and for
 * `kind` "wasm", "zip" or "onnx" the file's magic bytes (dev servers and SPA hosts
 * answer a missing file with their `index.html` and status 200). A download that goes
 * `stallMs` without a byte (default 30 s) is given up and made once more under another
 * URL (see {@link nextAttempt}). Rejects with AssetError naming the URL, the status and
 * the content type.
 */
export async function fetchAsset(
  url: string,
  kind: "wasm" | "zip" | "json" | "onnx",
  stallMs: number = DEFAULT_LOAD_STALL_MS,
): Promise<Uint8Array> {
  let got: { response: Response; body: Uint8Array };
  try {
    got = await download(url, stallMs).catch((err: unknown) => {
      // A download can stall inside the browser without an error: once more, under another URL.
      const again = err instanceof Stalled ? nextAttempt(url) : null;
      if (!again) throw err;
      return download(again, stallMs);
    });
  } catch (err) {
    const why = err instanceof Stalled ? `no byte arrived for ${stallMs} ms, twice` : String((err as Error)?.message ?? err);
    throw new AssetError(`could not fetch ${url}: ${why}`, url);
  }
  const { response, body: bytes } = got;
  const contentType = response.headers.get("content-type") ?? "";
  if (!response.ok) {
    throw new AssetError(
      `could not fetch ${url}: HTTP ${response.status} (${contentType || "no content type"})`,
      url,
      response.status,
      contentType,
    );
  }
  const magic = MAGIC[kind];
  if (magic && !magic.every((b, i) => bytes[i] === b)) {
    const what = contentType.includes("html") ? "an HTML page" : `${bytes.length} bytes that are not a ${kind} file`;
    throw new AssetError(
      `${url} is not the runtime's ${kind} file: the server sent ${what} (HTTP ${response.status}, ${contentType || "no content type"}). ` +
        "Is the file served at that URL? With a bundler, check it was emitted; when self-hosting, set assetsURL to the folder that `remotemedia-web copy-assets` filled." +
        (url.includes("/node_modules/")
          ? ` If a dev server pre-bundled the SDK, exclude it (Vite: \`optimizeDeps: { exclude: ["${PACKAGE}"] }\` in vite.config).`
          : ""),
      url,
      response.status,
      contentType,
    );
  }
  if (kind === "json" && contentType.includes("html")) {
    throw new AssetError(
      `${url}: the server sent an HTML page (HTTP ${response.status}, ${contentType}) instead of JSON`,
      url,
      response.status,
      contentType,
    );
  }
  return bytes;
}

/** A download that went its time without a byte. */
class Stalled extends Error {}

/**
 * `url` with the next `attempt` number in its query (2 for a URL without one): another
 * URL for the same file, so nothing of a stalled load is reused, while a service worker
 * (which keys files without their query) still serves it from its cache. Null for a URL
 * that is not http(s) (`data:`, `blob:`): it has no other URL, and is not tried again.
 */
export function nextAttempt(url: string): string | null {
  if (!/^https?:/.test(url)) return null;
  const again = new URL(url);
  again.searchParams.set("attempt", String((Number(again.searchParams.get("attempt")) || 1) + 1));
  return again.href;
}

/**
 * Fetches `url` and reads its whole body, or rejects with Stalled when the answer or the
 * next chunk of it takes longer than `stallMs`: a slow download that keeps coming is no stall.
 */
async function download(url: string, stallMs: number): Promise<{ response: Response; body: Uint8Array }> {
  const controller = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wait = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, timerDelay(stallMs));
  };
  try {
    wait();
    const response = await fetch(url, { signal: controller.signal });
    if (!response.body) return { response, body: new Uint8Array(await response.arrayBuffer()) };
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      wait();
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
    }
    if (chunks.length === 1) return { response, body: chunks[0] };
    const body = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      body.set(chunk, at);
      at += chunk.byteLength;
    }
    return { response, body };
  } catch (err) {
    throw stalled ? new Stalled() : err;
  } finally {
    clearTimeout(timer);
  }
}
