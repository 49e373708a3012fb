// The service worker: the first load fills the cache (the runtime's files, checked
// against the build's hashes, and the page's own files); reloads with the package's
// files blocked, or with the browser offline, still run pipelines; a page of another
// build is never served this build's files; a new build replaces the old cache once no
// page runs the old one; an HTML page is never cached as a runtime file; clearCache works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, appendFileSync, mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "../js-sdk/node/server.mjs";
import { launch } from "../js-sdk/node/chromium.mjs";
import { root } from "./helpers.mjs";

const SDK = "/js-sdk/dist/index.js";

async function openDemo(context, url) {
  const page = await context.newPage();
  await page.goto(`${url}/examples/web/index.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
  return page;
}

const status = (page) => page.evaluate(async (sdk) => (await import(sdk)).cacheStatus(), SDK);

/** The roles of the runtime files in cache `name`, sorted. */
const cachedRoles = (page, name) =>
  page.evaluate(async (name) => {
    const cache = await caches.open(name);
    const roles = [];
    for (const request of await cache.keys()) roles.push((await cache.match(request)).headers.get("x-remotemedia-file"));
    return roles.filter(Boolean).sort();
  }, name);

/** Runs voice-silero.json (whose model file is fetched on demand) on the recording: its segment count. */
const sileroSegments = (page) =>
  page.evaluate(async (sdk) => {
    const { RemoteMedia } = await import(sdk);
    const rm = await RemoteMedia.create({ workers: 1 });
    const manifest = await (await fetch("/examples/pipelines/voice-silero.json")).json();
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const r = await rm.run(manifest, [wav]);
    await rm.terminate();
    return r.outputs_by_node.vad[0].metadata.vad.segments.length;
  }, SDK);

test("the cache serves blocked and offline reloads, and clearCache empties it", async () => {
  const requests = [];
  const server = await serve(root, { onRequest: (p) => requests.push(p) });
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await openDemo(context, server.url);
    const first = await status(page);
    const current = first.caches.find((c) => c.current);
    assert.ok(current, JSON.stringify(first));
    const runtime = await cachedRoles(page, current.name);
    // The Silero model is not precached: only manifests that use it need it.
    assert.deepEqual(runtime, ["captureWorklet", "executorWasm", "executorWorker", "pyodideWasm", "pythonPackage", "pythonStdlib", "pythonWorker"]);
    assert.ok(current.bytes > 10 * 2 ** 20, `${current.bytes} bytes: the wasm and Pyodide should be there`);
    // Its first use fetches it, and the service worker keeps it.
    assert.ok((await sileroSegments(page)) >= 2);
    assert.ok((await cachedRoles(page, current.name)).includes("sileroVad"), "the model was not cached on first use");

    // A warm start fetches the page's precached files once (the page's own request,
    // served network-first), not a second time to refill the cache.
    requests.length = 0;
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
    const shell = ["/examples/web/app.js", "/examples/web/style.css", "/examples/pipelines/voice-python.json"];
    assert.deepEqual(
      shell.map((p) => requests.filter((r) => r === p).length),
      [1, 1, 1],
      `requests for ${shell.join(", ")} in one warm start: ${JSON.stringify(requests)}`,
    );

    // Reload with every request for the package's files failing at the network.
    await context.route("**/js-sdk/**", (route) => route.abort());
    requests.length = 0;
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
    const mixed = await page.evaluate(async (sdk) => {
      const { RemoteMedia } = await import(sdk);
      const rm = await RemoteMedia.create({ workers: 1 });
      const manifest = await (await fetch("/examples/pipelines/mixed.json")).json();
      const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
      const r = await rm.run(manifest, [wav]);
      await rm.terminate();
      return r.outputs_by_node.levels_after[0];
    }, SDK);
    assert.ok(Math.abs(mixed.peak_db - -6.02) < 0.02, JSON.stringify(mixed));
    assert.ok((await sileroSegments(page)) >= 2, "the cached model did not serve the blocked reload");
    const fromNetwork = requests.filter((p) => p.startsWith("/js-sdk/") && !p.endsWith("/sw.js"));
    assert.deepEqual(fromNetwork, [], "package files were fetched from the network");
    await context.unroute("**/js-sdk/**");

    // The demo page, reloaded offline, runs the default pipeline on the cached recording.
    await context.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
    await page.click("#lena");
    await page.waitForFunction(() => document.getElementById("input-info").textContent.includes("lena.wav"));
    await page.click("#run");
    await page.waitForFunction(() => document.body.dataset.lastRun, null, { timeout: 60_000 });
    const offline = await page.evaluate(() => ({ run: document.body.dataset.lastRun, status: document.getElementById("status").textContent }));
    assert.equal(offline.run, "ok", offline.status);
    await context.setOffline(false);

    const cleared = await page.evaluate(async (sdk) => {
      const m = await import(sdk);
      return { deleted: await m.clearCache(), after: (await m.cacheStatus()).caches.length };
    }, SDK);
    assert.ok(cleared.deleted >= 1);
    assert.equal(cleared.after, 0);
    // The service worker remembers what it has cached, so a warm start's registration is
    // answered without reading the cache; after clearCache it must cache the runtime again.
    await page.evaluate(async (sdk) => (await import(sdk)).registerServiceWorker({ scope: "/" }).then(() => undefined), SDK);
    const again = (await status(page)).caches.find((c) => c.current);
    assert.ok(again && again.entries >= 7 && again.bytes > 10 * 2 ** 20, JSON.stringify(again));
  } finally {
    await browser.close();
    await server.close();
  }
});

test("a new build replaces the old cache, and a page only ever runs one build", async () => {
  // A served copy of the package that can be "rebuilt" (changed and re-stamped).
  const dir = mkdtempSync(path.join(tmpdir(), "rm-sw-"));
  mkdirSync(path.join(dir, "js-sdk"));
  cpSync(path.join(root, "js-sdk/dist"), path.join(dir, "js-sdk/dist"), { recursive: true });
  cpSync(path.join(root, "js-sdk/package.json"), path.join(dir, "js-sdk/package.json"));
  symlinkSync(path.join(root, "examples"), path.join(dir, "examples"));
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  const requests = [];
  const server = await serve(dir, { onRequest: (p) => requests.push(p) });
  const browser = await launch();
  try {
    const context = await browser.newContext();
    let page = await openDemo(context, server.url);
    const v1 = await status(page);
    assert.deepEqual(v1.caches.map((c) => c.hash), [v1.build.hash]);

    appendFileSync(path.join(dir, "js-sdk/dist/executor-worker.js"), "\n// build 2\n");
    const stamp = spawnSync(process.execPath, [path.join(root, "js-sdk/scripts/build.mjs"), "--stamp-only", path.join(dir, "js-sdk")], { encoding: "utf8" });
    assert.equal(stamp.status, 0, stamp.stderr);

    // A reload runs the new build's SDK while the old worker is still active: the old
    // worker must not hand it the old build's runtime (same URLs, other bytes).
    requests.length = 0;
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
    const mid = await status(page);
    assert.notEqual(mid.build.hash, v1.build.hash);
    assert.ok(mid.caches.some((c) => c.hash === v1.build.hash), "the old build's cache is still there while its worker is active");
    assert.ok(requests.includes("/js-sdk/dist/executor-worker.js"), `the new build's executor came from the cache of the old one: ${requests.join(" ")}`);
    // The page looks for a new build of the script a second after it started (off its
    // start's critical path): it finds this one, which installs and waits.
    await page.waitForFunction(async () => (await navigator.serviceWorker.getRegistration())?.waiting != null, null, { timeout: 10_000 });
    await page.close();

    // With no page on the old build left, the new one activates and drops the old cache.
    let v2;
    for (let i = 0; i < 40; i++) {
      page = await openDemo(context, server.url);
      v2 = await status(page);
      if (v2.caches.length === 1 && v2.caches[0].current) break;
      // Each page looks for a new build a second after it started.
      await new Promise((r) => setTimeout(r, 1500));
      await page.close();
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.notEqual(v2.build.hash, v1.build.hash, "the new build never took over");
    assert.deepEqual(v2.caches.map((c) => [c.hash, c.current]), [[v2.build.hash, true]]);
    const r = await page.evaluate(async (sdk) => {
      const { RemoteMedia } = await import(sdk);
      const rm = await RemoteMedia.create({ workers: 1 });
      const out = await rm.run({ version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode", runtime_hint: "python" }] }, ["new build"]);
      await rm.terminate();
      return out.outputs[0].results.uppercase;
    }, SDK);
    assert.equal(r, "NEW BUILD");
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a second Python start restores the interpreter snapshot and runs Python nodes", async () => {
  const server = await serve(root);
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/js-sdk/node/harness.html`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
    const r = await page.evaluate(async () => {
      const { RemoteMedia, cacheStatus, clearCache } = window.sdk;
      const manifest = {
        version: "v1",
        metadata: { name: "snap" },
        nodes: [{ id: "s", node_type: "Square", runtime_hint: "python" }],
        python: { modules: { sq: "from remotemedia import Node\nclass Square(Node):\n    def process(self, x):\n        return x * x\n" } },
      };
      const starts = [];
      const outputs = [];
      for (let i = 0; i < 2; i++) {
        const rm = await RemoteMedia.create({ workers: 1, python: true });
        starts.push(rm.capabilities().pythonStartup);
        outputs.push((await rm.run(manifest, [3, 4])).outputs);
        await rm.terminate();
      }
      const cached = (await cacheStatus()).caches.find((c) => c.current);
      await clearCache();
      const rm = await RemoteMedia.create({ workers: 1, python: true, pythonSnapshot: true });
      const afterClear = rm.capabilities().pythonStartup.snapshot;
      await rm.terminate();
      return { starts, outputs, cachedBytes: cached?.bytes ?? 0, afterClear };
    });
    assert.equal(r.starts[0].snapshot, "made");
    assert.equal(r.starts[1].snapshot, "loaded");
    assert.ok(r.starts[1].loadPyodideMs < r.starts[0].loadPyodideMs, JSON.stringify(r.starts));
    assert.deepEqual(r.outputs, [[9, 16], [9, 16]]);
    assert.ok(r.cachedBytes > 20 * 2 ** 20, "the snapshot is kept in the build's cache");
    assert.equal(r.afterClear, "made", "clearCache drops the snapshot too");
  } finally {
    await browser.close();
    await server.close();
  }
});

test("an HTML page served as a runtime file is never cached, and a tampered entry is never served", async () => {
  const server = await serve(root);
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await openDemo(context, server.url);
    const r = await page.evaluate(async (sdk) => {
      const { BUILD } = await import(sdk);
      const events = [];
      navigator.serviceWorker.addEventListener("message", (e) => events.push(e.data));
      const reg = await navigator.serviceWorker.ready;
      // An HTML page (status 200) answering for the executor's wasm, as an SPA fallback would.
      const fake = new URL(`/examples/web/index.html?v=${BUILD.hash}`, location.href).href;
      await new Promise((resolve) => {
        const done = (e) => e.data?.event === "precached" && (navigator.serviceWorker.removeEventListener("message", done), resolve());
        navigator.serviceWorker.addEventListener("message", done);
        reg.active.postMessage({ type: "remotemedia-sw-runtime", build: BUILD.hash, files: { executorWasm: fake } });
      });
      const cache = await caches.open(`remotemedia-web-${BUILD.version}-${BUILD.hash}`);
      const cachedAsRuntime = (await cache.match(fake.split("?")[0]))?.headers.get("x-remotemedia-file") ?? null;
      // Overwrite a cached runtime file with other bytes, as code with access to the cache could.
      const keys = await cache.keys();
      let target = null;
      for (const k of keys) if ((await cache.match(k)).headers.get("x-remotemedia-file") === "pythonPackage") target = k.url;
      // Other bytes under the verified entry's own headers (its role, hash and length).
      await cache.put(target, new Response("not the package", { headers: (await cache.match(target)).headers }));
      const served = await (await fetch(`${target}?v=${BUILD.hash}`)).arrayBuffer();
      return { events, cachedAsRuntime, servedBytes: new Uint8Array(served).slice(0, 2), target };
    }, SDK);
    const notCached = r.events.find((e) => e.event === "not-cached");
    assert.ok(notCached, JSON.stringify(r.events));
    assert.match(notCached.contentType, /html/);
    assert.equal(r.cachedAsRuntime, null, "an HTML page was cached as the executor's wasm");
    assert.deepEqual([...Object.values(r.servedBytes)], [0x50, 0x4b], "the tampered zip was served instead of the real one");
    assert.ok(r.events.some((e) => e.event === "tampered"), JSON.stringify(r.events));
  } finally {
    await browser.close();
    await server.close();
  }
});

test("registration does not wait forever on a service worker that never answers", async () => {
  // A script that takes over but ignores every message (not this SDK's worker).
  const dir = path.join(root, "tests-web/artifacts/silent");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "sw.js"), "self.addEventListener('install', () => self.skipWaiting());\nself.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));\n");
  const server = await serve(root);
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/js-sdk/node/harness.html`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
    const r = await page.evaluate(async () => {
      const events = [];
      const t0 = performance.now();
      const reg = await window.sdk.registerServiceWorker({ url: "/tests-web/artifacts/silent/sw.js", scope: "/", precacheTimeoutMs: 500, onEvent: (e) => events.push(e.event) });
      return { registered: reg !== null, ms: performance.now() - t0, events };
    });
    assert.equal(r.registered, true);
    assert.ok(r.events.includes("precache-timeout"), JSON.stringify(r.events));
    assert.ok(r.ms < 10_000, `${r.ms} ms`);
  } finally {
    await browser.close();
    await server.close();
  }
});

test("Cache poisoning: manifest Python cannot reach the Cache API, and a poisoned cache is not served", async () => {
  // The attack: rewrite every cached script to run the attacker's code first. A
  // manifest's Python module tries it and finds no Cache API in its worker. Then code of
  // the page's own origin (the next writer in line) does it, and the reload still gets
  // the real files: the service worker serves them only when they match the build's hashes.
  const server = await serve(root);
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await openDemo(context, server.url);
    const { fromPython, poisoned } = await page.evaluate(async (sdk) => {
      const { RemoteMedia } = await import(sdk);
      const rm = await RemoteMedia.create({ workers: 1 });
      const poison = `(async () => {
        let n = 0;
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          for (const request of await cache.keys()) {
            if (!/[.](js|mjs|html)([?]|$)/.test(request.url)) continue;
            const response = await cache.match(request);
            const text = await response.text();
            await cache.put(request, new Response("globalThis.__pwned = true;\\n" + text, { headers: response.headers }));
            n++;
          }
        }
        return n;
      })()`;
      const manifest = {
        version: "v1",
        metadata: { name: "poison" },
        nodes: [{ id: "p", node_type: "Poison", runtime_hint: "python" }],
        python: { modules: { poison: `import js\nfrom remotemedia import Node\nclass Poison(Node):\n    def process(self, data):\n        js.eval(${JSON.stringify(poison)})\n        return {"caches": hasattr(js, "caches")}\n` } },
      };
      const reached = (await rm.run(manifest, [1])).outputs[0].caches;
      await rm.terminate();
      await new Promise((r) => setTimeout(r, 1500)); // the attack is asynchronous
      const rewritten = async () => {
        let n = 0;
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          for (const request of await cache.keys()) if ((await (await cache.match(request)).text()).startsWith("globalThis.__pwned")) n++;
        }
        return n;
      };
      const fromPython = { reached, rewritten: await rewritten() };
      await eval(poison);
      return { fromPython, poisoned: await rewritten() };
    }, SDK);
    assert.deepEqual(fromPython, { reached: false, rewritten: 0 });
    assert.ok(poisoned > 0, "the attack did not even write the cache; the test proves nothing");
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
    const after = await page.evaluate(async (sdk) => {
      const { RemoteMedia } = await import(sdk);
      const rm = await RemoteMedia.create({ workers: 1 });
      const r = await rm.run({ version: "v1", metadata: { name: "m" }, nodes: [{ id: "m", node_type: "MultiplyNode" }] }, [21]);
      await rm.terminate();
      return { pwned: globalThis.__pwned === true, outputs: r.outputs };
    }, SDK);
    assert.equal(after.pwned, false, "injected code ran in the page after the reload");
    assert.deepEqual(after.outputs, [42]);
  } finally {
    await browser.close();
    await server.close();
  }
});
