// assets.ts: where the runtime's files are when a dev server pre-bundled the SDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import { outOfViteCache } from "../../src/assets.ts";

test("Vite 7's and Nuxt's pre-bundling caches map to the package's dist/ folder, query kept", () => {
  assert.equal(
    outOfViteCache("http://localhost:5173/node_modules/.vite/deps/remotemedia_worker_bg.wasm?v=1a2b"),
    "http://localhost:5173/node_modules/@remotemedia/web/dist/remotemedia_worker_bg.wasm?v=1a2b",
  );
  assert.equal(
    outOfViteCache("http://localhost:3000/_nuxt/node_modules/.cache/vite/client/deps/python-worker.js"),
    "http://localhost:3000/_nuxt/node_modules/@remotemedia/web/dist/python-worker.js",
  );
  // Vite writes a new optimisation to deps_temp_<hash> before renaming it.
  assert.equal(outOfViteCache("http://h/app/node_modules/.vite/deps_temp_9f/x.zip"), "http://h/app/node_modules/@remotemedia/web/dist/x.zip");
});

test("URLs outside a pre-bundling cache stay as they are", () => {
  for (const url of [
    "http://localhost:5173/node_modules/@remotemedia/web/dist/executor-worker.js",
    "http://localhost:5173/assets/remotemedia_worker_bg-Bx1.wasm",
    "http://localhost:5173/node_modules/.vite/deps/nested/file.wasm",
    "http://localhost:5173/vite/deps/file.wasm",
  ]) {
    assert.equal(outOfViteCache(url), url);
  }
});
