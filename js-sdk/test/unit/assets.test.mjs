// assets.ts: where the runtime's files are when a dev server pre-bundled the SDK, and
// fetching them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fetchAsset, outOfViteCache } from "../../src/assets.ts";
import { AssetError } from "../../src/errors.ts";

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

// fetchAsset's stalled downloads, against a real HTTP server on loopback.
const ZIP = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60_000, 7)]);

/** A server whose answer to each request `plan(n, url)` decides (n counts from 1): "hold", "half", "slow" or "whole". */
async function server(plan) {
  const { createServer } = await import("node:http");
  const seen = [];
  const s = createServer((req, res) => {
    seen.push(req.url);
    const how = plan(seen.length, req.url);
    if (how === "hold") return; // no answer at all
    res.writeHead(200, { "content-type": "application/zip", "content-length": ZIP.length });
    if (how === "half") return res.write(ZIP.subarray(0, ZIP.length / 2)); // then nothing more
    if (how === "slow") {
      // Eight chunks, 250 ms apart: 2 s in all, never 1 s without a byte.
      let i = 0;
      const step = () => {
        if (i === 8) return res.end();
        res.write(ZIP.subarray((i * ZIP.length) / 8, ((i + 1) * ZIP.length) / 8));
        i++;
        setTimeout(step, 250);
      };
      return step();
    }
    res.end(ZIP);
  });
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${s.address().port}/dist/python_stdlib.zip?v=abc`, seen, close: () => (s.closeAllConnections(), s.close()) };
}

for (const how of ["hold", "half"]) {
  test(`a download that stalls (${how === "hold" ? "no answer" : "half the body, then nothing"}) is made once more under the next attempt's URL`, async () => {
    const s = await server((n) => (n === 1 ? how : "whole"));
    try {
      const bytes = await fetchAsset(s.url, "zip", 300);
      assert.deepEqual(Buffer.from(bytes), ZIP);
      assert.deepEqual(s.seen, ["/dist/python_stdlib.zip?v=abc", "/dist/python_stdlib.zip?v=abc&attempt=2"]);
    } finally {
      s.close();
    }
  });
}

test("a download that stalls twice is an AssetError naming the URL; one that keeps coming, slower than the limit in all, is no stall", async () => {
  const stalls = await server(() => "hold");
  try {
    await assert.rejects(fetchAsset(stalls.url, "zip", 300), (err) => err instanceof AssetError && err.url === stalls.url && /no byte arrived for 300 ms, twice/.test(err.message));
    assert.equal(stalls.seen.length, 2);
  } finally {
    stalls.close();
  }
  const slow = await server(() => "slow");
  try {
    assert.deepEqual(Buffer.from(await fetchAsset(slow.url, "zip", 1000)), ZIP);
    assert.equal(slow.seen.length, 1);
  } finally {
    slow.close();
  }
});
