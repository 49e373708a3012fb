// The demo page end to end: choose the sample recording, run the default pipeline,
// see timings, segments and the waveform; the same with the VAD on a server the test
// starts. The screenshot is kept in tests-web/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fakeMicrophoneFlags } from "../js-sdk/node/chromium.mjs";
import { artifacts, root, useBrowser } from "./helpers.mjs";

const ctx = useBrowser({ args: fakeMicrophoneFlags(path.join(root, "node_modules/audio-lena/lena.wav")) });

/** The demo page, started; `errors` collects its uncaught errors. */
async function openDemo() {
  await ctx.ready();
  const page = await ctx.browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${ctx.server.url}/examples/web/index.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 30_000 });
  return { page, errors };
}

test("the demo page processes an audio file and draws the speech segments", async () => {
  const { page, errors } = await openDemo();
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

test("the demo page runs its vad node on a server when one is given", async () => {
  const { page, errors } = await openDemo();
  const cli = process.env.REMOTEMEDIA_CLI ?? path.join(root, "target/release/remotemedia");
  const server = spawn(cli, ["serve", "--listen", "127.0.0.1:0", "--cors-origin", new URL(ctx.server.url).origin], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const line = await new Promise((resolve) => createInterface({ input: server.stdout }).once("line", resolve));
    await page.fill("#server", `ws://${line.replace("listening on ", "")}/ws`);
    await page.setInputFiles("#file", path.join(root, "node_modules/audio-lena/lena.mp3"));
    await page.waitForFunction(() => document.getElementById("input-info").textContent.includes("lena.mp3"));
    await page.click("#run");
    await page.waitForFunction(() => document.body.dataset.lastRun, null, { timeout: 60_000 });
    const state = await page.evaluate(() => ({ lastRun: document.body.dataset.lastRun, status: document.getElementById("status").textContent, segments: document.getElementById("segments").textContent }));
    assert.equal(state.lastRun, "ok", state.status);
    assert.match(state.segments, /speech segment\(s\): 0\.\d\d-/);
    // Without the server the same run fails with a RemoteError naming it.
    server.kill();
    await new Promise((r) => server.once("exit", r));
    await page.evaluate(() => delete document.body.dataset.lastRun);
    await page.click("#run");
    await page.waitForFunction(() => document.body.dataset.lastRun, null, { timeout: 60_000 });
    assert.match(await page.textContent("#status"), /^RemoteError: node "vad"/);
    assert.deepEqual(errors, []);
  } finally {
    server.kill();
  }
});

for (const detector of ["live-voice-silero", "live-voice"])
test(`the demo page's Live mode shows speech as it is heard, and plays the utterance (${detector})`, async () => {
  const { page, errors } = await openDemo();
  await page.selectOption("#live-vad", detector);
  await page.click("#live-start");
  // Chromium's fake microphone plays the recording: speech is detected while it plays.
  await page.waitForFunction(() => document.getElementById("live-speaking").textContent.startsWith("speaking since"), null, { timeout: 15_000 });
  const level = await page.textContent("#live-level");
  await page.waitForTimeout(1000);
  const speechPixels = await page.evaluate(() => {
    const c = document.getElementById("live-wave");
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let green = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] === 0x22 && data[i + 1] === 0xc5 && data[i + 2] === 0x5e) green++;
    return green;
  });
  await page.click("#live-stop");
  await page.waitForSelector("#live-utterances li audio", { timeout: 15_000 });
  await page.screenshot({ path: path.join(artifacts, "demo-page-live.png"), fullPage: true });
  const utterance = await page.textContent("#live-utterances li");
  const playable = await page.evaluate(async () => {
    const audio = document.querySelector("#live-utterances li audio");
    if (audio.readyState < 1) await new Promise((r) => audio.addEventListener("loadedmetadata", r, { once: true }));
    return audio.duration;
  });
  assert.match(level, /^-?\d+\.\d dBFS$/);
  assert.ok(speechPixels > 100, `no speech drawn (${speechPixels} green pixels)`);
  assert.match(utterance, /^0\.\d\d s to \d+\.\d\d s/);
  assert.ok(playable > 0.5, `the utterance plays ${playable} s`);
  assert.match(await page.textContent("#live-stats"), /0 frames lost or repeated/);
  assert.deepEqual(errors, []);
});
