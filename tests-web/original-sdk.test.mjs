// The compatibility suite in the browser: every case of test-vectors/original/cases.json
// (the original RemoteMedia SDK's manifests and .rmpkg packages, and equivalents of its
// documented examples) run through the SDK in Chromium, from the file's JSON or the
// package's bytes, against the original's recorded outputs. The same cases run natively
// in crates/runtime/tests/original_sdk.rs; the browser's expectation differs only where a
// case says why (`browser_why`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createRemoteMedia, root, sdkPage, useBrowser } from "./helpers.mjs";

const ctx = useBrowser();
const dir = path.join(root, "test-vectors/original");
const { cases } = JSON.parse(readFileSync(path.join(dir, "cases.json"), "utf8"));

test("the original SDK's manifests and packages give its recorded outputs in the browser", async () => {
  const page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 1 });
  const runs = cases.map((c) => {
    const bytes = readFileSync(path.join(dir, c.file));
    const isPackage = bytes[0] === 0x50 && bytes[1] === 0x4b; // "PK": a zip
    return { name: c.name, file: isPackage ? [...bytes] : JSON.parse(bytes.toString("utf8")), isPackage, inputs: c.inputs };
  });
  const results = await page.evaluate(async (runs) => {
    const out = {};
    for (const r of runs) {
      const manifest = r.isPackage ? new Uint8Array(r.file) : r.file;
      try {
        // Inputs are wire items: decode: false keeps outputs in wire form too.
        const result = await window.rm.run(manifest, r.inputs ?? [], { decode: false, timeoutMs: 60_000 });
        out[r.name] = { status: "success", outputs: result.outputs };
      } catch (e) {
        out[r.name] = { status: "error", error: typeof e.toJSON === "function" ? e.toJSON() : { name: e.name, message: e.message } };
      }
    }
    return out;
  }, runs);
  const failures = [];
  for (const c of cases) {
    const expect = c.browser ?? c.expect;
    const got = results[c.name];
    let ok;
    if (expect.outputs) {
      ok = got.status === "success" && JSON.stringify(got.outputs) === JSON.stringify(expect.outputs);
      if (!ok && got.status === "success") {
        try {
          assert.deepEqual(got.outputs, expect.outputs);
          ok = true; // same values, keys in another order
        } catch {
          ok = false;
        }
      }
    } else {
      const e = got.error ?? {};
      ok =
        got.status === "error" &&
        e.kind === expect.error.kind &&
        (!expect.error.path || (e.errors ?? []).some((p) => p.path === expect.error.path)) &&
        (!expect.error.contains || String(e.message).includes(expect.error.contains));
    }
    if (!ok) failures.push({ case: c.name, expected: expect, got });
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(page.errors, []);
});

test("readPackage shows a package's manifest, metadata, files and warnings; validate takes package bytes", async () => {
  const page = await sdkPage(ctx);
  await createRemoteMedia(page, { workers: 1 });
  const bytes = [...readFileSync(path.join(dir, "calculator.rmpkg"))];
  const deps = [...readFileSync(path.join(dir, "deps-nodes.rmpkg"))];
  const r = await page.evaluate(
    ({ bytes, deps }) => {
      const pkg = window.rm.readPackage(new Uint8Array(bytes));
      const withDeps = window.rm.readPackage(new Uint8Array(deps).buffer);
      const report = window.rm.validate(new Uint8Array(bytes));
      let broken;
      try {
        window.rm.readPackage(new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3]));
      } catch (e) {
        broken = { name: e.name, errors: e.errors };
      }
      return { name: pkg.manifest.metadata.name, metadata: pkg.metadata, files: pkg.files, warnings: pkg.warnings, modules: Object.keys(withDeps.manifest.python.modules), report, broken };
    },
    { bytes, deps },
  );
  assert.equal(r.name, "calculator-demo");
  assert.equal(r.metadata.package_name, "calculator-demo");
  assert.deepEqual(r.files.map((f) => f.name), ["manifest.json", "metadata.json", "runtime.wasm"]);
  assert.deepEqual(r.warnings.map((w) => w.path), ["runtime.wasm"]);
  assert.deepEqual(r.modules, ["original_nodes"]);
  assert.equal(r.report.valid, true);
  assert.ok(r.report.warnings.some((w) => w.path === "rmpkg:runtime.wasm"), JSON.stringify(r.report.warnings));
  assert.ok(r.report.warnings.some((w) => w.path === "runtime"), JSON.stringify(r.report.warnings));
  assert.equal(r.broken.name, "ManifestError");
  assert.equal(r.broken.errors[0].path, "rmpkg:$");
});
