// A run's own progress (RunOptions.onProgress): the runtime's reports while a long file
// decodes (each node's items, the decoder's bytes and fraction of the file), arriving
// before the result and ending with the result's counts; Python's start-up inside the
// first run that waits for it; a throwing callback that changes nothing.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { repeatedLena } from "../bench/common.mjs";
import { useBrowser, sdkPage, root } from "./helpers.mjs";

const ctx = useBrowser();
let page;

before(async () => {
  page = await sdkPage(ctx);
});

test("a long file's run reports each node's items and the decoder's fraction while it runs", async () => {
  const r = await page.evaluate(async (wav) => {
    const bytes = Uint8Array.from(atob(wav), (c) => c.charCodeAt(0));
    const rm = await window.sdk.RemoteMedia.create({ workers: 1, python: false });
    const manifest = {
      version: "v1",
      metadata: { name: "progress" },
      nodes: [
        { id: "decode", node_type: "AudioDecoderNode" },
        { id: "resample", node_type: "FastResampleNode", params: { target_rate: 16000 } },
        { id: "levels", node_type: "AudioLevelNode" },
      ],
      connections: [
        { from: "decode", to: "resample" },
        { from: "resample", to: "levels" },
      ],
    };
    const events = [];
    let settled = false;
    const run = rm.run(manifest, [bytes], { onProgress: (e) => events.push({ ...e, beforeResult: !settled }) });
    const result = await run;
    settled = true;
    // A callback that throws is only logged.
    const again = await rm.run(manifest, [bytes], {
      onProgress: () => {
        throw new Error("a broken progress bar");
      },
    });
    const bad = await rm.run(manifest, [bytes], { onProgress: "yes" }).catch((e) => `${e.name}: ${e.message}`);
    await rm.terminate();
    return { events, metrics: result.metrics.nodes, levels: result.outputs.length, again: again.outputs.length, bad, size: bytes.length };
  }, repeatedLena(root, 40).bytes.toString("base64"));
  const running = r.events.filter((e) => e.stage === "running");
  assert.equal(running.length, r.events.length, "a Rust-only run reports no Python stage");
  assert.ok(running.length >= 3, `${running.length} reports for 8 minutes of audio`);
  assert.ok(running.every((e) => e.beforeResult), "a report came after the result");
  const fractions = running.map((e) => e.inputs[0].fraction);
  assert.ok(fractions[0] < 1, JSON.stringify(fractions));
  assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]), JSON.stringify(fractions));
  const last = running.at(-1);
  assert.equal(last.done, true);
  assert.equal(running.filter((e) => e.done).length, 1);
  assert.deepEqual(last.inputs, [{ node: "decode", bytes: r.size, frames_done: last.inputs[0].frames_total, frames_total: last.inputs[0].frames_total, fraction: 1 }]);
  for (const id of ["decode", "resample", "levels"]) {
    assert.equal(last.nodes[id].items_out, r.metrics[id].items_out, id);
    assert.equal(last.nodes[id].items_in, r.metrics[id].items_in, id);
  }
  assert.ok(running[0].nodes.levels.items_out < last.nodes.levels.items_out, "the first report came at the end");
  assert.equal(r.again, r.levels, "a throwing onProgress changed the run");
  assert.equal(r.bad, "RemoteMediaError: options.onProgress must be a function");
});

test("the first Python run reports Python's start-up, then its own progress", async () => {
  const r = await page.evaluate(async () => {
    const rm = await window.sdk.RemoteMedia.create({ workers: 1 });
    const text = { version: "v1", metadata: { name: "t" }, nodes: [{ id: "t", node_type: "TextProcessorNode", runtime_hint: "python" }] };
    const first = [];
    await rm.run(text, ["hello"], { onProgress: (e) => first.push(e.stage === "python" ? `python: ${e.python.stage}` : `running${e.done ? " (done)" : ""}`) });
    const second = [];
    await rm.run(text, ["again"], { onProgress: (e) => second.push(e.stage) });
    await rm.terminate();
    return { first, second };
  });
  const python = r.first.filter((s) => s.startsWith("python: "));
  assert.ok(python.length >= 2, JSON.stringify(r.first));
  // The page, the host, then the interpreter: each message to a worker waits until it listens.
  assert.deepEqual(python.slice(0, 5), [
    "python: starting the Python worker",
    "python: the Python worker is running",
    "python: fetching and compiling Pyodide's WebAssembly",
    "python: starting the interpreter",
    "python: loading Pyodide",
  ]);
  assert.equal(python.at(-1), "python: Python ready");
  // Python's stages all come before the run's own reports, which end with the last.
  assert.equal(r.first.findIndex((s) => s.startsWith("running")), python.length, JSON.stringify(r.first));
  assert.equal(r.first.at(-1), "running (done)");
  assert.ok(!r.second.includes("python"), `Python was ready: ${JSON.stringify(r.second)}`);
});
