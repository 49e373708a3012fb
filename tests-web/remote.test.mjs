// Offloading from the browser (docs/remote.md): a manifest's node with `host` runs on a
// `remotemedia serve` this test starts (the native CLI), over the WebSocket transport,
// while the rest of the graph runs in the page's executor workers. Batch runs, sessions
// and live capture (Chromium's fake microphone) give the answers of an all-local run;
// a missing token, a node the server lacks and a server that goes away are RemoteErrors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fakeMicrophoneFlags } from "../js-sdk/node/chromium.mjs";
import { root, sdkPage, useBrowser } from "./helpers.mjs";

const CLI = process.env.REMOTEMEDIA_CLI ?? path.join(root, "target/release/remotemedia");
const LENA = path.join(root, "node_modules/audio-lena/lena.wav");
const TOKEN = "s3cret-token";
const pipeline = (name) => JSON.parse(readFileSync(path.join(root, `examples/pipelines/${name}.json`), "utf8"));
const ctx = useBrowser({ args: fakeMicrophoneFlags(LENA) });
let page;
let server;

/** `remotemedia serve` for the page's origin, with a token; resolves with its address. */
function startServer(origin, listen = "127.0.0.1:0") {
  const child = spawn(CLI, ["serve", "--listen", listen, "--cors-origin", origin, "--token", TOKEN], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    createInterface({ input: child.stdout }).once("line", (line) => {
      const m = /^listening on (.+)$/.exec(line);
      if (m) resolve({ child, addr: m[1] });
      else reject(new Error(`serve printed ${line}`));
    });
  });
}

/** A manifest with node `id` sent to the server. */
function offload(manifest, id, addr) {
  const copy = structuredClone(manifest);
  copy.nodes.find((n) => n.id === id).host = `ws://${addr}/ws`;
  return copy;
}

before(async () => {
  page = await sdkPage(ctx);
  server = await startServer(new URL(ctx.server.url).origin);
  await page.evaluate(async (token) => {
    window.local = await window.sdk.RemoteMedia.create({ workers: 2, python: false });
    window.remote = await window.sdk.RemoteMedia.create({ workers: 2, python: false, remoteToken: token });
    window.lena = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
  }, TOKEN);
});

after(() => server?.child.kill());

/** A result's outputs with audio as [length, first samples] (comparable, and small). */
const summary = `(result) => result.outputs.map((o) => o.audio ? { audio: o.audio.length, rate: o.sampleRate, head: Array.from(o.audio.slice(0, 64)), metadata: o.metadata } : o)`;

test("a batch run with the VAD on the server answers as the all-local run", async () => {
  const manifest = pipeline("voice-silero");
  const remote = offload(manifest, "vad", server.addr);
  const r = await page.evaluate(
    async ({ manifest, remote, summary }) => {
      const show = eval(summary);
      const local = show(await window.local.run(manifest, [window.lena]));
      const offloaded = show(await window.remote.run(remote, [window.lena]));
      return { local, offloaded, report: window.remote.validate(remote) };
    },
    { manifest, remote, summary },
  );
  assert.deepEqual(r.report.remote_nodes, [{ node_id: "vad", server: `ws://${server.addr}/ws` }]);
  assert.ok(r.local.length >= 2);
  assert.deepEqual(r.offloaded, r.local);
  assert.ok(r.local[0].metadata.vad.segments.length >= 2, JSON.stringify(r.local[0].metadata));
});

test("a session with the VAD on the server gives the local session's events, in order", async () => {
  const manifest = pipeline("live-voice-silero");
  const remote = offload(manifest, "vad", server.addr);
  const r = await page.evaluate(
    async ({ manifest, remote }) => {
      const decode = { version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }] };
      const audio = (await window.local.run(decode, [window.lena])).outputs[0];
      const events = async (rm, m) => {
        const session = await rm.open(m);
        const out = [];
        const step = 4410; // 100 ms chunks
        for (let at = 0; at < audio.audio.length; at += step) {
          for (const o of await session.push({ audio: audio.audio.slice(at, at + step), sampleRate: audio.sampleRate })) out.push(o);
        }
        for (const o of await session.close()) out.push(o);
        return out.map(({ nodeId, data }) => (data.audio ? { nodeId, audio: data.audio.length } : { nodeId, event: data.event, start: data.start, end: data.end }));
      };
      return { local: await events(window.local, manifest), offloaded: await events(window.remote, remote) };
    },
    { manifest, remote },
  );
  assert.ok(r.local.filter((e) => e.event === "speech_start").length >= 1, JSON.stringify(r.local.slice(0, 5)));
  assert.ok(r.local.length > 300, `${r.local.length} outputs`);
  assert.deepEqual(r.offloaded, r.local);
});

test("live capture with the VAD on the server: speech events from the fake microphone, no frame lost", async () => {
  const remote = offload(pipeline("live-voice-silero"), "vad", server.addr);
  const r = await page.evaluate(async (manifest) => {
    const events = [];
    const listener = await window.remote.listen(manifest, { onEvent: (e) => events.push(e.event) });
    await new Promise((r) => setTimeout(r, 8000));
    await listener.stop();
    const stats = listener.stats();
    await listener.destroy();
    return { events, stats };
  }, remote);
  assert.ok(r.events.includes("speech_start"), JSON.stringify(r.events.slice(0, 20)));
  assert.ok(r.events.filter((e) => e === "frame").length > 100, `${r.events.length} events`);
  assert.equal(r.stats.gaps + r.stats.repeats, 0);
  assert.equal(r.stats.framesCaptured, r.stats.framesReceived);
});

test("no token, a node the server lacks, and a server that goes away are RemoteErrors", async () => {
  const manifest = pipeline("voice-silero");
  const remote = offload(manifest, "vad", server.addr);
  const unknown = offload(manifest, "vad", server.addr);
  unknown.nodes.find((n) => n.id === "vad").node_type = "NoSuchNodeOnTheServer";
  const r = await page.evaluate(
    async ({ remote, unknown }) => {
      const fail = (p) => p.then(() => "resolved", (e) => ({ name: e.name, code: e.code, server: e.server, nodeId: e.nodeId, remote: e.remote, message: e.message }));
      const untrusted = await fail(window.local.run(remote, [window.lena]));
      const lacking = await fail(window.remote.run(unknown, [window.lena]));
      const next = (await window.remote.run(remote, [window.lena])).outputs.length;
      return { untrusted, lacking, next };
    },
    { remote, unknown },
  );
  assert.equal(r.untrusted.name, "RemoteError");
  assert.equal(r.untrusted.code, "unavailable");
  assert.equal(r.untrusted.nodeId, "vad");
  assert.match(r.untrusted.message, /token/);
  assert.equal(r.lacking.name, "RemoteError");
  assert.equal(r.lacking.code, "manifest");
  assert.equal(r.lacking.remote.kind, "manifest");
  assert.ok(r.next >= 2, "the pool goes on after remote errors");
  // The server goes away while a session is open: the next push is a RemoteError, soon.
  const gone = await page.evaluate(async (manifest) => {
    window.open = await window.remote.open(manifest);
    await window.open.push({ audio: new Float32Array(4410), sampleRate: 44100 });
    return true;
  }, offload(pipeline("live-voice-silero"), "vad", server.addr));
  assert.ok(gone);
  server.child.kill("SIGKILL");
  await new Promise((r) => server.child.once("exit", r));
  const after = await page.evaluate(async () => {
    const t0 = performance.now();
    const e = await window.open.push({ audio: new Float32Array(4410), sampleRate: 44100 }).then(() => null, (e) => e);
    return { name: e?.name, code: e?.code, ms: performance.now() - t0 };
  });
  assert.equal(after.name, "RemoteError", JSON.stringify(after));
  assert.equal(after.code, "unavailable");
  assert.ok(after.ms < 1000, `the push took ${after.ms} ms to fail`);
});

test("a session whose RemotePipelineNode asks for a reconnect goes on across a server restart", async () => {
  const origin = new URL(ctx.server.url).origin;
  let first = await startServer(origin);
  const manifest = pipeline("live-voice-silero");
  const vad = manifest.nodes.find((n) => n.id === "vad");
  const inner = { version: "v1", metadata: { name: "vad" }, nodes: [{ ...vad, id: "vad" }], connections: [] };
  manifest.nodes[manifest.nodes.indexOf(vad)] = {
    id: "vad",
    node_type: "RemotePipelineNode",
    params: { endpoint: `ws://${first.addr}/ws`, manifest: inner, timeout_ms: 5000, reconnect: 1 },
  };
  // 100 ms chunks of the recording, from chunk `from` on; resolves with how many outputs came.
  const pushes = `async (from, n) => { const { audio, sampleRate } = window.decoded; const step = sampleRate / 10; let outputs = 0; for (let i = from; i < from + n; i++) { outputs += (await window.again.push({ audio: audio.slice(i * step, (i + 1) * step), sampleRate })).length; } return outputs; }`;
  await page.evaluate(async (manifest) => {
    const decode = { version: "v1", metadata: { name: "d" }, nodes: [{ id: "d", node_type: "AudioDecoderNode" }] };
    window.decoded = (await window.local.run(decode, [window.lena])).outputs[0];
    window.again = await window.remote.open(manifest);
  }, manifest);
  assert.ok((await page.evaluate(`(${pushes})(0, 10)`)) > 0, "the first server answered");
  first.child.kill("SIGKILL");
  await new Promise((r) => first.child.once("exit", r));
  // The same address again: the session's next push opens a new server session there.
  const port = first.addr.split(":").pop();
  const second = await startServer(origin, `127.0.0.1:${port}`);
  try {
    const r = await page.evaluate(
      `(async () => { try { const events = await (${pushes})(10, 40); await window.again.close(); return { events }; } catch (e) { return { error: e.name + ": " + e.message }; } })()`,
    );
    assert.equal(r.error, undefined, `the session failed after the restart: ${r.error}`);
    assert.ok(r.events > 0, "the restarted server's VAD produced events");
    // Without a reconnect left, the same break is a RemoteError (the test above).
  } finally {
    second.child.kill();
    first = null;
  }
});

test("aborting a run that waits for a server's answer closes its session at once and keeps the worker", async () => {
  // A server that opens sessions and then never answers a chunk.
  const { WebSocketServer } = await import("ws");
  const silent = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/ws" });
  await new Promise((r) => silent.once("listening", r));
  let chunk;
  let connections = 0;
  const chunkArrived = new Promise((r) => (chunk = r));
  const closed = new Promise((resolve) => {
    silent.on("connection", (socket) => {
      connections += 1;
      socket.on("message", (data) => {
        const message = JSON.parse(String(data));
        if (message.init) socket.send(JSON.stringify({ ready: { session_id: "silent" } }));
        else chunk();
      });
      socket.on("close", () => resolve(performance.now()));
    });
  });
  // A local node, then one on the silent server. The SDK replaces a worker whose aborted
  // run computes Rust code, but keeps one whose run has nodes on servers. A cancel is not
  // a broken connection: the node's `reconnect` must not open another session.
  const inner = { version: "v1", metadata: { name: "far" }, nodes: [{ id: "p", node_type: "PassThrough" }] };
  const manifest = {
    version: "v1",
    metadata: { name: "abort" },
    nodes: [
      { id: "near", node_type: "PassThrough" },
      { id: "far", node_type: "RemotePipelineNode", params: { endpoint: `ws://127.0.0.1:${silent.address().port}/ws`, manifest: inner, reconnect: 1 } },
    ],
    connections: [{ from: "near", to: "far" }],
  };
  const input = "hello";
  try {
    await page.evaluate(async () => {
      window.single = await window.sdk.RemoteMedia.create({ workers: 1, python: false });
      // A session on the one executor worker: lost if that worker were replaced.
      window.kept = await window.single.open({ version: "v1", metadata: { name: "l" }, nodes: [{ id: "level", node_type: "AudioLevelNode" }] });
      window.controller = new AbortController();
    });
    await page.evaluate(({ manifest, input }) => {
      window.aborted = window.single.run(manifest, [input], { signal: window.controller.signal }).then(() => "resolved", (e) => e.name);
    }, { manifest, input });
    await chunkArrived;
    const abortedAt = performance.now();
    await page.evaluate(() => window.controller.abort());
    const r = await page.evaluate(async () => {
      const name = await window.aborted;
      const pass = { version: "v1", metadata: { name: "p" }, nodes: [{ id: "p", node_type: "PassThrough" }] };
      const after = (await window.single.run(pass, ["again"])).outputs.length;
      const kept = await window.kept.push({ audio: new Float32Array(1600).fill(0.5), sampleRate: 16000 }).then((o) => o.length, (e) => e.name);
      return { name, after, kept };
    });
    assert.equal(r.name, "AbortError");
    const closedAt = await Promise.race([closed, new Promise((r) => setTimeout(() => r(null), 5000))]);
    assert.ok(closedAt !== null, "the server's session was never closed");
    assert.ok(closedAt - abortedAt < 1000, `the session closed ${closedAt - abortedAt} ms after the abort`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(connections, 1, "the cancel was taken for a broken connection and reconnected");
    assert.equal(r.after, 1, "the next run");
    assert.equal(r.kept, 1, "the session on the worker survived the abort");
  } finally {
    silent.close();
    await page.evaluate(() => window.single?.terminate());
  }
});
