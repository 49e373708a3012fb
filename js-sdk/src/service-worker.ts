/**
 * The service worker helpers: register `@remotemedia/web/sw`, and inspect or clear its
 * caches. The worker itself is `dist/sw.js` (source: `sw/sw.template.js`).
 */
import { BUILD } from "./build-info.js";
import { ON_DEMAND_ASSETS, assetURLs, resolveBase } from "./assets.js";
import { RemoteMediaError } from "./errors.js";
import { timerDelay } from "./timers.js";

const PREFIX = "remotemedia-web-";
// The default script, named through an expression no bundler evaluates: bundlers emit
// every file named by a `new URL("./…", import.meta.url)` they can evaluate (webpack and
// Turbopack follow a constant) into every app, used or not, and an app that does register
// the worker serves its own copy from its root.
const SW_SCRIPT = ["sw", "js"].join(".");
/** How long after registration to look for a new build of the script, in ms. */
const UPDATE_CHECK_DELAY_MS = 1000;

/**
 * A message from the service worker: `activated`, `precached`, `build-mismatch` (this
 * page's SDK and the service worker script are different builds), `not-cached` (a
 * response that is not this build's file, e.g. an HTML fallback), `tampered` (a cached
 * file that no longer matches, deleted), `quota`, `fetch-error`, `cache-error`.
 */
export interface ServiceWorkerEvent {
  event: string;
  cache: string;
  [key: string]: unknown;
}

/** Options of {@link registerServiceWorker}. */
export interface RegisterOptions {
  /**
   * Where the service worker script is served. Default: `sw.js` beside this module, right
   * when the package is served as it is. In a bundled app, copy it to the site's root
   * (`npx remotemedia-web copy-assets public --only sw`) and pass `"/remotemedia-sw.js"`.
   */
  url?: string | URL;
  /** Its scope; default: the script's folder. It must cover the pages that use the SDK. */
  scope?: string;
  /** The same `assetsURL` as given to `RemoteMedia.create`, when self-hosting the runtime's files. */
  assetsURL?: string | URL;
  /**
   * The page's own files to keep for offline starts: fetched into the cache once, then served
   * network-first (each network answer refreshes the cached copy; offline, the copy is served).
   */
  precache?: string[];
  /** Cache events (quota errors, files that could not be cached, activation). */
  onEvent?: (event: ServiceWorkerEvent) => void;
  /**
   * How long to wait for the runtime's files to be cached before resolving anyway
   * (reported as a `precache-timeout` event), in ms; default 120000. Caching goes on.
   */
  precacheTimeoutMs?: number;
}

function activated(worker: ServiceWorker): Promise<ServiceWorker> {
  if (worker.state === "activated") return Promise.resolve(worker);
  return new Promise((resolve, reject) => {
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve(worker);
      else if (worker.state === "redundant") reject(new RemoteMediaError("the service worker failed to install"));
    });
  });
}

/**
 * Registers the service worker, tells it where this page's runtime files are, and
 * resolves once they are cached (checked against this build's hashes) and the
 * `precache` files too. Resolves with `null` where service workers are not available
 * (http: pages other than localhost, some private modes): the SDK works without it,
 * just without the cache. Rejects with RemoteMediaError when the script cannot be
 * registered or its scope does not cover this page (the message says how to fix it).
 */
export async function registerServiceWorker(options: RegisterOptions = {}): Promise<ServiceWorkerRegistration | null> {
  if (typeof navigator === "undefined" || !("serviceWorker" in navigator)) return null;
  const url = new URL(options.url ?? new URL(SW_SCRIPT, import.meta.url), location.href);
  const listener = (e: MessageEvent) => {
    if (e.data?.type === "remotemedia-sw") options.onEvent?.(e.data as ServiceWorkerEvent);
  };
  if (options.onEvent) navigator.serviceWorker.addEventListener("message", listener);
  let registration: ServiceWorkerRegistration;
  try {
    registration = await navigator.serviceWorker.register(url.href, options.scope ? { scope: options.scope } : {});
  } catch (err) {
    throw new RemoteMediaError(
      `could not register the service worker ${url.href}: ${String((err as Error)?.message ?? err)}. ` +
        "A script may only control pages under its own folder: in a bundled app, copy it to the site's root " +
        '(npx remotemedia-web copy-assets public --only sw) and pass url: "/remotemedia-sw.js".',
    );
  }
  if (!location.href.startsWith(registration.scope)) {
    throw new RemoteMediaError(
      `the service worker's scope ${registration.scope} does not cover this page (${location.href}): ` +
        'serve the script from the site\'s root (npx remotemedia-web copy-assets public --only sw; url: "/remotemedia-sw.js"), ' +
        "or send Service-Worker-Allowed with it and pass a wider scope.",
    );
  }
  // Look for a new build (one request for the script; offline it simply fails) once the
  // page has started: awaited here, it held every start on a round trip, and run beside
  // the start it made the next warm start take 1.6 s in Chromium (bench/start.html). A
  // new build installs and waits until no open page runs the old one.
  setTimeout(() => registration.update().catch(() => undefined), UPDATE_CHECK_DELAY_MS);
  const candidate = registration.active ?? registration.waiting ?? registration.installing;
  if (!candidate) throw new RemoteMediaError("the service worker registered but has no worker");
  const active = registration.active ?? (await activated(candidate));
  const base = options.assetsURL === undefined ? undefined : resolveBase(options.assetsURL);
  const precache = (options.precache ?? []).map((u) => new URL(u, location.href).href);
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      navigator.serviceWorker.removeEventListener("message", onMessage);
      resolve();
    };
    const onMessage = (e: MessageEvent) => {
      if (e.data?.type === "remotemedia-sw" && (e.data.event === "precached" || e.data.event === "build-mismatch")) done();
    };
    // A worker that never answers (a script that is not this SDK's) must not hold the page.
    const timer = setTimeout(
      () => {
        options.onEvent?.({ event: "precache-timeout", cache: "" });
        done();
      },
      timerDelay(options.precacheTimeoutMs ?? 120_000),
    );
    navigator.serviceWorker.addEventListener("message", onMessage);
    active.postMessage({ type: "remotemedia-sw-runtime", build: BUILD.hash, files: assetURLs(base), onDemand: ON_DEMAND_ASSETS, precache });
  });
  return registration;
}

/** One cache of the service worker. */
export interface CacheInfo {
  name: string;
  version: string;
  hash: string;
  /** Whether it belongs to this page's build. */
  current: boolean;
  entries: number;
  bytes: number;
}

/** What is cached: every RemoteMedia cache with its entries and bytes, and this page's build. */
export async function cacheStatus(): Promise<{ supported: boolean; build: typeof BUILD; caches: CacheInfo[] }> {
  if (typeof caches === "undefined") return { supported: false, build: BUILD, caches: [] };
  const out: CacheInfo[] = [];
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX)) continue;
    const [version, hash] = [name.slice(PREFIX.length, name.lastIndexOf("-")), name.slice(name.lastIndexOf("-") + 1)];
    const cache = await caches.open(name);
    let bytes = 0;
    const requests = await cache.keys();
    for (const request of requests) {
      const response = await cache.match(request);
      bytes += response ? (await response.blob()).size : 0;
    }
    out.push({ name, version, hash, current: hash === BUILD.hash, entries: requests.length, bytes });
  }
  return { supported: true, build: BUILD, caches: out };
}

/** Deletes every RemoteMedia cache; resolves with how many were deleted. */
export async function clearCache(): Promise<number> {
  if (typeof caches === "undefined") return 0;
  let deleted = 0;
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && (await caches.delete(name))) deleted++;
  }
  return deleted;
}
