// The core set in the other browser engines: Firefox (firefox-esr, WebDriver BiDi) and
// WebKit (WebKitGTK's MiniBrowser, WebKitWebDriver under Xvfb), beside Chromium, which
// every other file here uses. For each: a Rust run on real audio that must give the
// native CLI's VAD segments and level, a Python run, a streaming session, a live
// capture of the engine's fake microphone, typed errors, a node offloaded to a
// `remotemedia serve` over the WebSocket, and the service worker serving a reload while
// the network drops every request for the package's files. (WebKitGTK is not Safari:
// same engine, but its SharedArrayBuffer is off by default, so Python interrupts fall
// back to restarts there, and its media stack is GStreamer's.)
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { serve } from "../js-sdk/node/server.mjs";
import { missing, open, releaseAudioDevice } from "./engines.mjs";
import { root } from "./helpers.mjs";

const native = process.env.REMOTEMEDIA_CLI ?? path.join(root, "target/release/remotemedia");
const VOICE = JSON.parse(readFileSync(path.join(root, "examples/pipelines/voice.json"), "utf8"));

/** What the native CLI finds in the recording through voice.json: the reference. */
function nativeVoice() {
  const cli = spawnSync(native, ["run", "examples/pipelines/voice.json", "--input", "node_modules/audio-lena/lena.wav"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(cli.status, 0, cli.stderr);
  const result = JSON.parse(cli.stdout);
  const vad = result.outputs[result.outputs_by_node.vad[0]].audio.meta.metadata.vad;
  const levels = result.outputs[result.outputs_by_node.levels[0]];
  return { segments: vad.segments.map((s) => [s.start_s, s.end_s]), rmsDb: levels.rms_db };
}

let server;
let reference;
/** `remotemedia serve` for the test server's origin: `{ child, addr }`. */
let remote;
/** While true, the server refuses the package's files (`/js-sdk/`): a failing network. */
let refusePackage = false;
let refused = 0;
before(async () => {
  const refuse = (p) => refusePackage && p.startsWith("/js-sdk/") && ++refused > 0;
  server = await serve(root, { onRequest: (p) => !refuse(p) });
  reference = nativeVoice();
  const child = spawn(native, ["serve", "--listen", "127.0.0.1:0", "--cors-origin", new URL(server.url).origin], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  remote = { child, addr: line.replace("listening on ", "") };
});
after(() => {
  remote?.child.kill();
  releaseAudioDevice();
  return server?.close();
});

// ENGINES=webkit (or firefox) runs one engine only, when working on it.
for (const engine of process.env.ENGINES ? process.env.ENGINES.split(",") : ["firefox", "webkit"]) {
  const why = missing(engine);
  describe(engine, { skip: why ?? false }, () => {
    let page;
    before(async () => {
      page = await open(engine, `${server.url}/js-sdk/node/harness.html`);
      for (let i = 0; ; i++) {
        if (await page.evaluate(() => window.harnessReady === true)) break;
        if (i > 300) throw new Error(`${engine}: the SDK did not load`);
        await new Promise((r) => setTimeout(r, 100));
      }
      console.log(`# ${engine}: ${page.version}`);
    });
    after(() => page?.close());

    test("a Rust run on real audio gives the native CLI's segments and level", async () => {
      const r = await page.evaluate(async (voice) => {
        const rm = await window.sdk.RemoteMedia.create({ workers: 1 });
        const bytes = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
        const result = await rm.run(voice, [bytes]);
        await rm.terminate();
        const vad = result.outputs_by_node.vad[0].metadata.vad;
        return { segments: vad.segments.map((s) => [s.start_s, s.end_s]), rmsDb: result.outputs_by_node.levels[0].rms_db };
      }, VOICE);
      assert.deepEqual(r.segments, reference.segments);
      assert.ok(Math.abs(r.rmsDb - reference.rmsDb) < 1e-3, `${r.rmsDb} dB vs native ${reference.rmsDb} dB`);
    });

    test("a Python run, a session, and typed errors", async () => {
      const r = await page.evaluate(async () => {
        const rm = await window.sdk.RemoteMedia.create({ workers: 1 });
        const text = { version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode", runtime_hint: "python" }] };
        const python = (await rm.run(text, ["engines agree"])).outputs[0].results.uppercase;
        const session = await rm.open({ version: "v1", metadata: { name: "e" }, nodes: [{ id: "e", node_type: "Echo" }] });
        await session.push("a");
        const pushed = (await session.push("b"))[0].data.counter;
        await session.close();
        const afterClose = await session.push("c").then(
          () => "no error",
          (e) => e.name,
        );
        const invalid = await rm.run({ version: "v1", metadata: { name: "x" }, nodes: [{ id: "x", node_type: "NoSuchNode" }] }, [1]).then(
          () => null,
          (e) => ({ name: e.name, kind: e.toJSON().kind, path: e.errors[0].path }),
        );
        const failing = await rm.run({ version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }] }, [new Uint8Array([1, 2, 3])]).then(
          () => null,
          (e) => ({ name: e.name, nodeId: e.nodeId }),
        );
        const caps = rm.capabilities();
        await rm.terminate();
        return { python, pushed, afterClose, invalid, failing, python_state: caps.python };
      });
      assert.equal(r.python, "ENGINES AGREE");
      assert.equal(r.pushed, 2);
      assert.equal(r.afterClose, "SessionClosedError");
      assert.deepEqual(r.invalid, { name: "ManifestError", kind: "manifest", path: "nodes[0].node_type" });
      assert.deepEqual(r.failing, { name: "NodeError", nodeId: "d" });
      assert.equal(r.python_state, "ready");
    });

    test("a node offloaded to a server answers as it does in the page", async () => {
      const manifest = JSON.parse(readFileSync(path.join(root, "examples/pipelines/voice-silero.json"), "utf8"));
      const offloaded = structuredClone(manifest);
      offloaded.nodes.find((n) => n.id === "vad").host = `ws://${remote.addr}/ws`;
      const text = await page.evaluate(
        async ({ manifest, offloaded }) => {
          const rm = await window.sdk.RemoteMedia.create({ workers: 1, python: false });
          const bytes = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
          const segments = (result) => result.outputs_by_node.vad[0].metadata.vad.segments.map((s) => [s.start_s, s.end_s]);
          const local = segments(await rm.run(manifest, [bytes]));
          const remote = segments(await rm.run(offloaded, [bytes]));
          const gone = { ...offloaded, nodes: offloaded.nodes.map((n) => (n.id === "vad" ? { ...n, host: "ws://127.0.0.1:9/ws" } : n)) };
          const error = await rm.run(gone, [bytes]).then(
            () => null,
            (e) => ({ name: e.name, code: e.code }),
          );
          await rm.terminate();
          // As text: WebKitWebDriver could not return this object ("[object Object]").
          return JSON.stringify({ local, remote, error });
        },
        { manifest, offloaded },
      );
      const r = JSON.parse(text);
      assert.ok(r.local.length >= 2, JSON.stringify(r.local));
      assert.deepEqual(r.remote, r.local);
      assert.deepEqual(r.error, { name: "RemoteError", code: "unavailable" });
    });

    test("live capture of the engine's fake microphone reaches the session", async () => {
      const r = await page.evaluate(async () => {
        const rm = await window.sdk.RemoteMedia.create({ workers: 1 });
        const manifest = { version: "v1", metadata: { name: "live" }, nodes: [{ id: "levels", node_type: "AudioLevelNode" }] };
        const events = [];
        let listener;
        try {
          listener = await rm.listen(manifest, { onEvent: (e) => events.push(e) });
        } catch (e) {
          await rm.terminate();
          return { error: `${e.name}: ${e.message}` };
        }
        if (listener.state === "suspended") await listener.audioContext.resume().catch(() => {});
        await new Promise((r) => setTimeout(r, 1500));
        const rate = listener.audioContext.sampleRate;
        const stats = listener.stats();
        await listener.destroy();
        await rm.terminate();
        return { events: events.length, frames: stats.framesReceived, seconds: stats.seconds, rate, nodes: [...new Set(events.map((e) => e.node))] };
      });
      assert.equal(r.error, undefined, r.error);
      assert.ok(r.events > 0, JSON.stringify(r));
      assert.deepEqual(r.nodes, ["levels"]);
      assert.ok(r.frames > r.rate * 0.5, `${r.frames} frames received at ${r.rate} Hz in 1.5 s`);
    });

    // Last: from here the service worker controls every page of this origin in this profile.
    test("the service worker: the demo page's reload runs Rust and Python with the network refusing the package", async () => {
      const ready = async (what) => {
        for (let i = 0; ; i++) {
          if (await page.evaluate(() => document.body?.dataset.ready === "true").catch(() => false)) return;
          if (i > 600) throw new Error(`${engine}: ${what} did not get ready`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await page.evaluate((url) => void (location.href = url), `${server.url}/examples/web/index.html`);
      await ready("the demo page");
      const cached = await page.evaluate(async () => {
        const status = await (await import("/js-sdk/dist/index.js")).cacheStatus();
        return status.caches.find((c) => c.current) ?? status;
      });
      assert.ok(cached.entries >= 7 && cached.bytes > 10 * 2 ** 20, JSON.stringify(cached));
      refusePackage = true;
      refused = 0;
      try {
        await page.evaluate(() => {
          document.body.dataset.ready = "reloading"; // the reloaded page sets "true" again
          location.reload();
        });
        await ready("the demo page with the package refused");
        const r = await page.evaluate(async () => {
          const { RemoteMedia } = await import("/js-sdk/dist/index.js");
          const rm = await RemoteMedia.create({ workers: 1 });
          const manifest = await (await fetch("/examples/pipelines/mixed.json")).json();
          const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
          const out = await rm.run(manifest, [wav]).then(
            (result) => result.outputs_by_node.levels_after[0],
            (e) => ({ error: `${e.name}: ${e.message}` }),
          );
          await rm.terminate();
          return out;
        });
        assert.equal(r.error, undefined, r.error);
        assert.ok(Math.abs(r.peak_db - -6.02) < 0.02, JSON.stringify(r));
        assert.ok(refused > 0, "no request for the package's files reached the network: the test refused nothing");
      } finally {
        refusePackage = false;
      }
    });
  });
}
