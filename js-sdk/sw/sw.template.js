// @remotemedia/web/sw: the service worker that caches the runtime.
//
// The runtime's files (the executor and Pyodide WebAssembly, the worker scripts, the
// Python standard library and package) are cache-first. Bundlers rename them, so the
// page tells this worker where they are (`registerServiceWorker()` posts the SDK's own
// URLs), and this worker knows what they must contain: the SHA-256 of each, stamped in
// at build time. A response is cached only if its bytes match, so an HTML fallback page
// (status 200) is never cached under a runtime file's name. The bytes are hashed once,
// when cached: hashing 15 MB on every serve made warm starts slower than the plain HTTP
// cache. The entry records the hash and length it was verified with, and is served only
// if they are this build's and its body still has that length, so nothing written into
// the cache by other code is served as the runtime.
//
// The cache name carries the package version and the build's hash; when a new build
// activates (it waits until no open page runs the old one), older caches are deleted.
// Files the page asks to keep (`precache`, an app shell) are fetched once, then served
// network-first: each answer from the network replaces the cached copy, which is served
// when offline. Other requests are not answered: the browser fetches them itself.
// Quota and fetch errors are reported to the pages (`{type: "remotemedia-sw", event,
// ...}` messages), never fatal.
//
// In a bundled app, place this file at the site's root so its scope covers the pages:
// `npx remotemedia-web copy-assets public --only sw` (it becomes /remotemedia-sw.js).

const VERSION = "__VERSION__";
const HASH = "__HASH__";
const FILES = __FILES__; // role -> SHA-256 (hex) of the file's bytes
const PREFIX = "remotemedia-web-";
const CACHE = `${PREFIX}${VERSION}-${HASH}`;
const ROLE_HEADER = "x-remotemedia-file";
// Set by this worker when it verified the bytes: their SHA-256 and their length.
const HASH_HEADER = "x-remotemedia-sha256";
const LENGTH_HEADER = "x-remotemedia-length";
// Runtime files cached on first use, not precached (a model only some manifests need):
// their URL (without query) -> role, as the page said.
const onDemand = new Map();
// The URLs (without query) this worker answers for: what its cache holds and what the
// page said it would ask for. Any other request is left to the browser: passed through
// this worker, the page itself and the SDK's module each waited on a round trip through
// it (Chromium, bench/start.html: the page's response 7 ms and the module 12-15 ms later
// than when not answered). Until the cache's keys are read at start-up, every GET is
// answered.
const owned = new Set();
let ownedKnown = false;
caches
  .open(CACHE)
  .then((cache) => cache.keys())
  .then((requests) => {
    for (const request of requests) owned.add(keyOf(request.url));
    ownedKnown = true;
  })
  .catch(() => undefined); // no cache storage: every GET stays answered
// Runtime files this worker has found verified in its cache (URL without query -> role),
// so a page that registers again (every warm start) is answered without reading the
// cache. Cleared when the cache itself is gone (`clearCache()`).
const cachedRoles = new Map();

async function report(event, detail) {
  for (const client of await self.clients.matchAll({ includeUncontrolled: true })) {
    client.postMessage({ type: "remotemedia-sw", event, cache: CACHE, ...detail });
  }
}

async function sha256(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A URL without its query and fragment: versioned URLs map to the same file. */
function keyOf(url) {
  const u = new URL(url);
  u.search = "";
  u.hash = "";
  return u.href;
}

async function put(cache, key, response) {
  try {
    await cache.put(key, response);
    return true;
  } catch (err) {
    await report(err?.name === "QuotaExceededError" ? "quota" : "cache-error", { url: key, message: String(err?.message ?? err) });
    return false;
  }
}

/** Fetches one runtime file and caches it if its bytes are this build's; reports otherwise. */
async function cacheRuntimeFile(cache, role, url) {
  const key = keyOf(url);
  try {
    const response = await fetch(url, { cache: "reload" });
    const contentType = response.headers.get("content-type") ?? "";
    const bytes = await response.arrayBuffer();
    if (!response.ok || (await sha256(bytes)) !== FILES[role]) {
      await report("not-cached", { url: key, role, status: response.status, contentType, reason: response.ok ? "content differs from this build" : "HTTP error" });
      return;
    }
    const headers = new Headers(response.headers);
    headers.set(ROLE_HEADER, role);
    headers.set(HASH_HEADER, FILES[role]);
    headers.set(LENGTH_HEADER, String(bytes.byteLength));
    if (await put(cache, key, new Response(bytes, { status: 200, headers }))) cachedRoles.set(key, role);
  } catch (err) {
    await report("fetch-error", { url: key, role, message: String(err?.message ?? err) });
  }
}

/**
 * Fetches into the cache those of the page's own files it does not hold yet. The others
 * are not fetched again: serving them network-first keeps them fresh (see `fetch`), and
 * fetching every file anew on each registration made every warm start download them twice.
 */
async function cacheAppFiles(cache, urls) {
  await Promise.all(
    urls.map(async (url) => {
      try {
        if (await cache.match(keyOf(url))) return;
        const response = await fetch(url, { cache: "reload" });
        if (response.ok && response.type !== "opaque") await put(cache, keyOf(url), response);
        else await report("not-cached", { url, status: response.status, responseType: response.type });
      } catch (err) {
        await report("fetch-error", { url, message: String(err?.message ?? err) });
      }
    }),
  );
}

self.addEventListener("install", () => {
  // The first install takes over at once. A new build waits until the pages running
  // the old one are gone, so no open page switches builds under its feet.
  if (!self.registration.active) self.skipWaiting();
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
  const reply = (detail) => event.source?.postMessage({ type: "remotemedia-sw", cache: CACHE, ...detail });
  if (data.type !== "remotemedia-sw-runtime") return;
  if (data.build !== HASH) {
    // The page's SDK and this script come from different builds (an old copy at the root?).
    event.waitUntil(Promise.resolve(reply({ event: "build-mismatch", page: data.build, worker: HASH, version: VERSION })));
    return;
  }
  // A file a bundler inlined (a data: URL) needs no cache.
  const all = Object.entries(data.files ?? {}).filter(([role, url]) => role in FILES && typeof url === "string" && /^https?:/.test(url));
  const lazy = new Set(Array.isArray(data.onDemand) ? data.onDemand : []);
  for (const [role, url] of all) if (lazy.has(role)) onDemand.set(keyOf(url), role);
  const files = all.filter(([role]) => !lazy.has(role));
  const appFiles = Array.isArray(data.precache) ? data.precache.filter((u) => typeof u === "string") : [];
  for (const url of [...all.map(([, url]) => url), ...appFiles]) owned.add(keyOf(url));
  event.waitUntil(
    (async () => {
      if (!(await caches.has(CACHE))) cachedRoles.clear();
      const cache = await caches.open(CACHE);
      const cachedAs = async (url) => {
        const key = keyOf(url);
        if (!cachedRoles.has(key)) {
          const role = (await cache.match(key))?.headers.get(ROLE_HEADER);
          if (role) cachedRoles.set(key, role);
        }
        return cachedRoles.get(key);
      };
      await Promise.all(files.map(async ([role, url]) => ((await cachedAs(url)) === role ? undefined : cacheRuntimeFile(cache, role, url))));
      await cacheAppFiles(cache, appFiles);
      reply({ event: "precached", files: files.length, precache: appFiles.length });
    })(),
  );
});

/**
 * A cached runtime file, if this worker verified it as this build's file when caching it
 * (its recorded hash) and its body still has the verified length; otherwise the entry
 * is deleted and reported as tampered. The body is not hashed again (see the top).
 */
async function verifiedHit(cache, key, hit) {
  const role = hit.headers.get(ROLE_HEADER);
  const length = hit.headers.get(LENGTH_HEADER);
  if (hit.headers.get(HASH_HEADER) === FILES[role] && length !== null) {
    // A cached body's Blob is backed by the cache's storage: its size is known unread.
    const body = await hit.blob();
    if (body.size === Number(length)) return new Response(body, { status: 200, headers: hit.headers });
  }
  cachedRoles.delete(key);
  await cache.delete(key);
  await report("tampered", { url: key, role });
  return null;
}

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin) return;
  const key = keyOf(url.href);
  if (ownedKnown && !owned.has(key)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(key);
      if (hit?.headers.has(ROLE_HEADER)) {
        // The runtime: cache-first, checked against the build's hashes, and only for a
        // page of this build (the SDK asks for `?v=<its build>`): another build's page
        // gets the network, never a mix of builds.
        if (url.searchParams.get("v") !== HASH) return fetch(event.request);
        const verified = await verifiedHit(cache, key, hit);
        if (verified) return verified;
        return fetch(event.request);
      }
      const lazyRole = onDemand.get(key);
      if (!hit && lazyRole && url.searchParams.get("v") === HASH) {
        // First use of an on-demand runtime file: cached if its bytes are this build's.
        await cacheRuntimeFile(cache, lazyRole, url.href);
        const fresh = await cache.match(key);
        const verified = fresh && (await verifiedHit(cache, key, fresh));
        if (verified) return verified;
        return fetch(event.request);
      }
      // Anything else: the network; offline, what the page asked us to keep. A file the
      // page asked us to keep is refreshed from each whole answer (200) the network gives
      // (a 206 range cannot be cached).
      try {
        const response = await fetch(event.request);
        if (hit && response.status === 200 && response.type === "basic" && !response.redirected) event.waitUntil(put(cache, key, response.clone()));
        return response;
      } catch (err) {
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});
