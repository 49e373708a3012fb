// Float32 transport: base64 envelopes vs transferred buffers, in one browser session.
// PassThrough of 1, 10 and 50 MB of float32 audio, and the voice pipeline on the
// audio-lena recording. Each figure: median of 5 runs after a warm-up (min, max).
// Usage: node bench/transport.mjs [--quick]
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../js-sdk/node/server.mjs";
import { launch } from "../js-sdk/node/chromium.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const server = await serve(root);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/js-sdk/node/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true);
  const rows = await page.evaluate(async ({ quick }) => {
    const { RemoteMedia } = window.sdk;
    const reps = quick ? 1 : 5;
    const stats = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
    };
    const time = async (fn) => {
      await fn(); // warm-up
      const t = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await fn();
        t.push(performance.now() - t0);
      }
      return stats(t);
    };
    const pass = { version: "v1", metadata: { name: "p" }, nodes: [{ id: "p", node_type: "PassThrough" }] };
    const voice = await (await fetch("/examples/pipelines/voice.json")).json();
    const wav = new Uint8Array(await (await fetch("/node_modules/audio-lena/lena.wav")).arrayBuffer());
    const out = [];
    for (const transport of ["base64", "transfer"]) {
      const rm = await RemoteMedia.create({ workers: 1, transport });
      for (const mb of quick ? [1] : [1, 10, 50]) {
        const audio = new Float32Array((mb * 1e6) / 4).map((_, i) => Math.sin(i * 0.01));
        const t = await time(() => rm.run(pass, [{ audio, sampleRate: 48000 }]));
        out.push({ case: `PassThrough ${mb} MB float32`, transport, ...t, gbps: (2 * mb) / 1000 / (t.median / 1000) });
      }
      const t = await time(() => rm.run(voice, [wav]));
      out.push({ case: "voice.json on lena.wav (12.3 s)", transport, ...t });
      await rm.terminate();
    }
    return out;
  }, { quick });
  console.log("| case | transport | median ms | min | max | GB/s (in + out) |\n|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.case} | ${r.transport} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} | ${r.max.toFixed(1)} | ${r.gbps ? r.gbps.toFixed(2) : ""} |`);
  }
} finally {
  await browser.close();
  await server.close();
}
