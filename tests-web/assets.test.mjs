// Where the runtime's files come from: self-hosted with `remotemedia-web copy-assets`
// and a relative `assetsURL` (Rust and Python nodes), and the typed AssetError a
// missing file gives, naming the URL, the status and the content type, whether the
// server answers 404 or an HTML page with status 200 (an SPA fallback).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { artifacts, createRemoteMedia, root, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();

test("copy-assets and a relative assetsURL: Rust and Python nodes run from the copied files", async () => {
  const dir = path.join(artifacts, "self-hosted");
  rmSync(dir, { recursive: true, force: true });
  const cli = spawnSync(process.execPath, [path.join(root, "js-sdk/bin/remotemedia-web.mjs"), "copy-assets", dir], { encoding: "utf8" });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /copied 11 file\(s\)/); // the SDK module, the runtime, the model's licence notice, the service worker
  const page = await sdkPage(ctx);
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  const r = await page.evaluate(async () => {
    // Relative to the page (/js-sdk/node/harness.html).
    const rm = await window.sdk.RemoteMedia.create({ workers: 1, assetsURL: "../../tests-web/artifacts/self-hosted" });
    const out = await rm.run({ version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode", runtime_hint: "python" }] }, ["self hosted"]);
    // A model file, fetched from the copy too.
    const silence = { audio: new Float32Array(16000), sampleRate: 16000, channels: 1 };
    const vad = await rm.run({ version: "v1", metadata: { name: "v" }, nodes: [{ id: "v", node_type: "SileroVADNode" }] }, [silence]);
    await rm.terminate();
    return { text: out.outputs[0].results.uppercase, windows: vad.outputs[0].metadata.vad.total_frames };
  });
  assert.deepEqual(r, { text: "SELF HOSTED", windows: 32 });
  const runtime = fetched.filter((p) => /\.(wasm|zip|onnx)$|worker\.js$/.test(p));
  assert.ok(runtime.length >= 8, runtime.join(" "));
  assert.ok(runtime.includes("/tests-web/artifacts/self-hosted/silero_vad_v6.onnx"), runtime.join(" "));
  assert.deepEqual(runtime.filter((p) => !p.startsWith("/tests-web/artifacts/self-hosted/")), [], "files came from elsewhere");
});

test("a missing runtime file is an AssetError naming the URL, the status and the content type", async () => {
  const page = await sdkPage(ctx);
  const r = await page.evaluate(async () => {
    const tryCreate = (options) =>
      window.sdk.RemoteMedia.create({ workers: 1, ...options }).then(
        async (rm) => (await rm.terminate(), null),
        (e) => ({ name: e.name, message: e.message, url: e.url, status: e.status, contentType: e.contentType, typed: e instanceof window.sdk.AssetError }),
      );
    return { missing: await tryCreate({ assetsURL: "/nowhere/" }), badBase: await tryCreate({ assetsURL: "http://[::1" }) };
  });
  assert.equal(r.missing.typed, true, JSON.stringify(r.missing));
  assert.equal(r.missing.status, 404);
  assert.match(r.missing.url, /\/nowhere\/remotemedia_worker_bg\.wasm\?v=/);
  assert.match(r.missing.message, /HTTP 404 \(text\/plain/);
  assert.equal(r.badBase.name, "AssetError");
  assert.match(r.badBase.message, /is not a valid URL/);
});

test("an HTML page where the runtime should be (an SPA fallback) is an AssetError, for the executor and for Python", async () => {
  const page = await sdkPage(ctx);
  // Every request under /spa/ answers with the app's index.html and status 200.
  await page.route("**/spa/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>app</title>" }));
  const executor = await page.evaluate(() =>
    window.sdk.RemoteMedia.create({ workers: 1, assetsURL: "/spa/" }).then(
      () => null,
      (e) => ({ name: e.name, message: e.message, status: e.status, contentType: e.contentType }),
    ),
  );
  assert.equal(executor.name, "AssetError");
  assert.equal(executor.status, 200);
  assert.equal(executor.contentType, "text/html");
  assert.match(executor.message, /not the runtime's wasm file: the server sent an HTML page \(HTTP 200, text\/html\)/);

  // The executor's files are fine, Python's package is an HTML page.
  await createRemoteMedia(page, { workers: 1 });
  await page.route("**/remotemedia-python.zip*", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html>" }));
  const python = await page.evaluate(() =>
    window.rm.startPython().then(
      () => null,
      (e) => ({ name: e.name, message: e.message, url: e.url, status: e.status }),
    ),
  );
  assert.equal(python.name, "AssetError", JSON.stringify(python));
  assert.match(python.url, /remotemedia-python\.zip/);
  assert.match(python.message, /not the runtime's zip file/);
  await page.evaluate(() => window.rm.terminate());
});

test("no bundler: the README's plain HTML page runs from a copy-assets folder beside it", async () => {
  const dir = path.join(artifacts, "plain");
  rmSync(dir, { recursive: true, force: true });
  const readme = readFileSync(path.join(root, "js-sdk/README.md"), "utf8");
  const html = /## Without a bundler[\s\S]*?```html\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(html, "the README has the page");
  const cli = spawnSync(process.execPath, [path.join(root, "js-sdk/bin/remotemedia-web.mjs"), "copy-assets", path.join(dir, "remotemedia"), "--only", "runtime"], { encoding: "utf8" });
  assert.equal(cli.status, 0, cli.stderr);
  writeFileSync(path.join(dir, "index.html"), html);
  await ctx.ready();
  const page = await ctx.browser.newPage();
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto(`${ctx.server.url}/tests-web/artifacts/plain/index.html`);
  await page.waitForFunction(() => document.getElementById("out").textContent !== "starting...", null, { timeout: 60_000 });
  // A half-scale sine is 20 log10(0.5 / sqrt 2) = -9.03 dBFS.
  assert.equal(await page.textContent("#out"), "-9.03 dBFS; NO BUNDLER");
  const sdkFiles = fetched.filter((p) => /\.(js|wasm|zip)$/.test(p));
  assert.deepEqual(sdkFiles.filter((p) => !p.startsWith("/tests-web/artifacts/plain/")), [], "everything came from the copy");
  await page.close();
});
