/**
 * The service worker helpers (SPEC 9): register `@remotemedia/web/sw`, and inspect or
 * clear its caches. The worker itself is `dist/sw.js` (source: `sw/sw.template.js`).
 */
import { BUILD } from "./build-info.js";

const PREFIX = "remotemedia-web-";

/** A message from the service worker: `activated`, `precached`, `quota`, `not-cached`, `fetch-error`, `cache-error`. */
export interface ServiceWorkerEvent {
  event: string;
  cache: string;
  [key: string]: unknown;
}

/** Options of {@link registerServiceWorker}. */
export interface RegisterOptions {
  /** Where the service worker script is served; default: `sw.js` next to this module. */
  url?: string | URL;
  /** Its scope; it must cover the pages that use the SDK (a wider scope than the script's folder needs the `Service-Worker-Allowed` header). */
  scope?: string;
  /** The package root, when the script is served from elsewhere (passed as `?base=`). */
  base?: string | URL;
  /** The page's own files to keep for offline starts (served network-first, from the cache when offline). */
  precache?: string[];
  /** Cache events (quota errors, files that could not be cached, activation). */
  onEvent?: (event: ServiceWorkerEvent) => void;
}

/**
 * Registers the service worker and resolves once it is active (and, with `precache`,
 * once those files are cached). Resolves with `null` where service workers are not
 * available (http: pages other than localhost, some private modes): the SDK works
 * without it, just without the cache.
 */
export async function registerServiceWorker(options: RegisterOptions = {}): Promise<ServiceWorkerRegistration | null> {
  if (typeof navigator === "undefined" || !("serviceWorker" in navigator)) return null;
  const url = new URL(options.url ?? new URL("./sw.js", import.meta.url));
  url.searchParams.set("base", new URL(options.base ?? new URL("../", import.meta.url)).href);
  if (options.onEvent) {
    navigator.serviceWorker.addEventListener("message", (e: MessageEvent) => {
      if (e.data?.type === "remotemedia-sw") options.onEvent?.(e.data as ServiceWorkerEvent);
    });
  }
  const registration = await navigator.serviceWorker.register(url.href, options.scope ? { scope: options.scope } : {});
  // Look for a new build now (one request for the script; offline it simply fails).
  // A new build installs and waits until no open page runs the old one.
  await registration.update().catch(() => undefined);
  const ready = await navigator.serviceWorker.ready;
  if (options.precache?.length && ready.active) {
    const active = ready.active;
    await new Promise<void>((resolve) => {
      const onMessage = (e: MessageEvent) => {
        if (e.data?.type === "remotemedia-sw" && e.data.event === "precached") {
          navigator.serviceWorker.removeEventListener("message", onMessage);
          resolve();
        }
      };
      navigator.serviceWorker.addEventListener("message", onMessage);
      active.postMessage({ type: "remotemedia-sw-precache", urls: options.precache!.map((u) => new URL(u, location.href).href) });
    });
  }
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
