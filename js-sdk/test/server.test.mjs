// The static server (node/server.mjs) against requests a browser never sends: a
// malformed escape does not stop it, nothing outside its root or starting with a dot
// is served (raw or percent-encoded), and real files come with their MIME types.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "../node/server.mjs";

let dir;
let server;

before(async () => {
  // <dir>/site is served; <dir>/site-secret sits beside it (a sibling whose name starts the same).
  dir = mkdtempSync(path.join(tmpdir(), "rm-server-"));
  mkdirSync(path.join(dir, "site/.git"), { recursive: true });
  mkdirSync(path.join(dir, "site/dist"), { recursive: true });
  mkdirSync(path.join(dir, "site-secret"), { recursive: true });
  writeFileSync(path.join(dir, "site/.git/config"), "CONTENT-GIT");
  writeFileSync(path.join(dir, "site/.env"), "CONTENT-ENV");
  writeFileSync(path.join(dir, "site/dist/a.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d]));
  writeFileSync(path.join(dir, "site/dist/sw.js"), "self;");
  writeFileSync(path.join(dir, "site/index.html"), "<!doctype html>");
  writeFileSync(path.join(dir, "site-secret/x.txt"), "CONTENT-SIBLING");
  writeFileSync(path.join(dir, "outside.txt"), "CONTENT-OUTSIDE");
  server = await serve(path.join(dir, "site"));
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw GET (the path is sent as written, unlike fetch, which normalises it). */
function get(rawPath) {
  return new Promise((resolve, reject) => {
    const { port } = new URL(server.url);
    const req = request({ host: "127.0.0.1", port, path: rawPath, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("nothing outside the root, and no dotfiles, however the path is written", async () => {
  for (const p of ["/..%2fsite-secret/x.txt", "/../outside.txt", "/%2e%2e/outside.txt", "/..%5coutside.txt", "/.git/config", "/%2egit/config", "/.env", "/dist/../.env"]) {
    const r = await get(p);
    assert.equal(r.status, 404, `${p}: ${r.status} ${r.body}`);
    assert.doesNotMatch(r.body, /CONTENT-/);
  }
});

test("a malformed escape is a 404, and the server keeps serving", async () => {
  for (const p of ["/%", "/%E0%A4%A", "/dist/%zz.wasm"]) assert.equal((await get(p)).status, 404, p);
  assert.equal((await get("/index.html")).status, 200);
});

test("files come with their MIME types, ETags, and the service worker's scope header", async () => {
  const wasm = await get("/dist/a.wasm");
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers["content-type"], "application/wasm");
  assert.equal(wasm.headers["cache-control"], "no-cache");
  assert.ok(wasm.headers.etag);
  const sw = await get("/dist/sw.js");
  assert.equal(sw.headers["service-worker-allowed"], "/");
  assert.match(sw.headers["content-type"], /javascript/);
  assert.equal((await get("/")).body, "<!doctype html>");
});
