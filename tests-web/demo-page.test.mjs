// The demo page end to end: choose the sample recording, run the default pipeline,
// see timings, segments and the waveform. The screenshot is kept in tests-web/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { artifacts, root, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();

test("the demo page processes an audio file and draws the speech segments", async () => {
  await ctx.ready();
  const page = await ctx.browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${ctx.server.url}/examples/web/index.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 30_000 });
  // Upload the file through the real file input, as a person would.
  await page.setInputFiles("#file", path.join(root, "node_modules/audio-lena/lena.mp3"));
  await page.waitForFunction(() => document.getElementById("input-info").textContent.includes("lena.mp3"));
  await page.click("#run");
  await page.waitForFunction(() => document.body.dataset.lastRun, null, { timeout: 60_000 });
  const state = await page.evaluate(() => ({
    lastRun: document.body.dataset.lastRun,
    status: document.getElementById("status").textContent,
    rows: [...document.querySelectorAll("#timings tbody tr")].map((r) => r.firstChild.textContent),
    segments: document.getElementById("segments").textContent,
    result: document.getElementById("result").textContent,
  }));
  await page.screenshot({ path: path.join(artifacts, "demo-page.png"), fullPage: true });
  assert.equal(state.lastRun, "ok", state.status);
  assert.deepEqual(state.rows, ["decode", "resample", "vad", "levels", "stats"]);
  assert.match(state.segments, /speech segment\(s\): 0\.\d\d-/);
  assert.match(state.result, /"speech_segments"/);
  // The waveform canvas has both the segment shading and the waveform drawn.
  const colours = await page.evaluate(() => {
    const c = document.getElementById("wave");
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 97) seen.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
    return seen.size;
  });
  assert.ok(colours >= 3, `the waveform canvas looks empty (${colours} colours)`);
  assert.deepEqual(errors, []);
});
