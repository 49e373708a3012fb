// @remotemedia/web/sw: the service worker that caches the runtime (SPEC 9).
//
// Cache-first for the package's files: the executor .wasm and its glue, the worker
// scripts and SDK modules, the remotemedia Python package and the Pyodide core. The
// cache name carries the package version and a content hash of every one of those
// files, made at build time, and all files are fetched into it together at install:
// a glue file and a .wasm from different builds are never paired. Old caches are
// deleted when a new build activates. Responses are stored whole, so .wasm keeps its
// application/wasm type and streaming compilation (and the compiled-code cache) apply.
// Quota errors and opaque responses fall back to the network and are reported to the
// pages (`{type: "remotemedia-sw", event, ...}` messages), never fatal.
//
// Register it with `registerServiceWorker()` from the SDK. Query parameter `base`:
// the URL of the package root, when this script is served from somewhere else.

const VERSION = "__VERSION__";
const HASH = "__HASH__";
const FILES = __FILES__; // paths relative to the package root
const PREFIX = "remotemedia-web-";
const CACHE = `${PREFIX}${VERSION}-${HASH}`;
const BASE = new URL(new URL(self.location.href).searchParams.get("base") ?? "../", self.location.href);
const PACKAGE_URLS = new Set(FILES.map((f) => new URL(f, BASE).href));

async function report(event, detail) {
  for (const client of await self.clients.matchAll({ includeUncontrolled: true })) {
    client.postMessage({ type: "remotemedia-sw", event, cache: CACHE, ...detail });
  }
}

async function put(cache, url, response) {
  try {
    await cache.put(url, response);
    return true;
  } catch (err) {
    await report(err?.name === "QuotaExceededError" ? "quota" : "cache-error", { url, message: String(err?.message ?? err) });
    return false;
  }
}

/** Fetches `urls` (bypassing the HTTP cache) into the cache; failures are reported, not fatal. */
async function precache(urls) {
  const cache = await caches.open(CACHE);
  await Promise.all(
    [...urls].map(async (url) => {
      try {
        const response = await fetch(url, { cache: "reload" });
        if (response.ok && response.type !== "opaque") await put(cache, url, response);
        else await report("not-cached", { url, status: response.status, responseType: response.type });
      } catch (err) {
        await report("fetch-error", { url, message: String(err?.message ?? err) });
      }
    }),
  );
}

self.addEventListener("install", (event) => {
  // The first install takes over at once. A new build waits until the pages running
  // the old one are gone, so no open page switches builds under its feet.
  event.waitUntil(precache(PACKAGE_URLS).then(() => (self.registration.active ? undefined : self.skipWaiting())));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
      await report("activated", { version: VERSION, hash: HASH });
    })(),
  );
});

self.addEventListener("message", (event) => {
  const data = event.data ?? {};
  if (data.type === "remotemedia-sw-precache" && Array.isArray(data.urls)) {
    // The page's own files (an app shell), so it can also start offline.
    // Stored in the same cache; served network-first (fresh online, cached offline).
    const urls = data.urls.map((u) => new URL(u, event.source?.url ?? BASE).href);
    event.waitUntil(precache(urls).then(() => event.source?.postMessage({ type: "remotemedia-sw", event: "precached", urls })));
  }
});

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  const url = new URL(event.request.url);
  url.search = ""; // versioned URLs (?v=HASH) map to the same file
  url.hash = "";
  const key = url.href;
  if (PACKAGE_URLS.has(key)) {
    // The runtime: cache-first, filled on a miss.
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        const hit = await cache.match(key);
        if (hit) return hit;
        const response = await fetch(event.request);
        if (response.ok && response.type !== "opaque") event.waitUntil(put(cache, key, response.clone()));
        return response;
      })(),
    );
  } else if (url.origin === self.location.origin) {
    // Anything else of this origin: the network; offline, what the page asked us to keep.
    event.respondWith(
      fetch(event.request).catch(async (err) => {
        const hit = await (await caches.open(CACHE)).match(key);
        if (hit) return hit;
        throw err;
      }),
    );
  }
});
