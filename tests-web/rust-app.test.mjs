// The Leptos example (examples/rust-app, built by its build.mjs before the tests): the
// app spawns RemoteMedia's gloo-worker workers from Rust, runs the voice pipeline on
// the sample recording and on a picked file, and shows the speech segments.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { serve } from "../js-sdk/node/server.mjs";
import { launch } from "../js-sdk/node/chromium.mjs";
import { root } from "./helpers.mjs";

const dist = path.join(root, "examples/rust-app/dist");
let server;
let browser;

before(async () => {
  assert.ok(existsSync(path.join(dist, "index.html")), "build the example first: node examples/rust-app/build.mjs");
  server = await serve(dist);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("the Leptos app runs the voice pipeline in its workers and shows the segments", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const workers = [];
  page.on("worker", (w) => workers.push(new URL(w.url()).pathname));
  await page.goto(`${server.url}/index.html`);
  await page.click("#sample");
  await page.waitForFunction(() => document.querySelectorAll("#segments li").length > 0, null, { timeout: 60_000 });
  const sample = await page.evaluate(() => ({
    segments: [...document.querySelectorAll("#segments li")].map((li) => li.textContent),
    status: document.getElementById("status").textContent,
    firstResult: document.getElementById("first-result").textContent,
  }));
  // The same segments as the native CLI finds in the recording (voice.json, VAD metadata).
  const cli = spawnSync(process.env.REMOTEMEDIA_CLI ?? path.join(root, "target/release/remotemedia"), ["run", "examples/pipelines/voice.json", "--input", "node_modules/audio-lena/lena.wav"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(cli.status, 0, cli.stderr);
  const result = JSON.parse(cli.stdout);
  const vad = result.outputs[result.outputs_by_node.vad[0]].audio.meta.metadata.vad;
  assert.deepEqual(sample.segments, vad.segments.map((s) => `${s.start_s.toFixed(2)} s - ${s.end_s.toFixed(2)} s`));
  assert.match(sample.status, /^lena\.wav: \d+ speech segment\(s\)/);
  assert.deepEqual(workers, ["/runner_loader.js"], "the batch-run worker, spawned by the Rust app");

  await page.setInputFiles("#file", path.join(root, "node_modules/audio-lena/lena.mp3"));
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("lena.mp3:"), null, { timeout: 60_000 });
  const picked = await page.evaluate(() => document.querySelectorAll("#segments li").length);
  assert.ok(picked >= 3, `${picked} segments in the MP3`);
  assert.deepEqual(errors, []);
  const sizes = JSON.parse(readFileSync(path.join(dist, "sizes.json"), "utf8"));
  console.log(`# rust-app: ${sample.firstResult} wasm: app ${(sizes.app.gzip / 1024).toFixed(0)} KiB gzip, runner ${(sizes.runner.gzip / 1024).toFixed(0)} KiB gzip`);
});
