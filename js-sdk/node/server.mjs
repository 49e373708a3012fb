// A small static file server for the browser CLI, the demo page and the end-to-end
// tests: correct MIME types (application/wasm keeps streaming compilation working),
// no caching surprises, optional cross-origin isolation headers, loopback only.
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".zip": "application/zip",
  ".py": "text/x-python; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".flac": "audio/flac",
  ".svg": "image/svg+xml",
  ".map": "application/json; charset=utf-8",
  ".d.ts": "text/plain; charset=utf-8",
};

/**
 * Serves `root` on 127.0.0.1. Options: `port` (0 = any free port), `isolate` (send
 * COOP/COEP so the page is cross-origin isolated), `onRequest(pathname)` (a hook that
 * sees every request, for tests). Resolves with `{ url, close() }`.
 */
export function serve(root, { port = 0, isolate = false, onRequest } = {}) {
  const base = path.resolve(root);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    onRequest?.(url.pathname);
    let file = path.join(base, decodeURIComponent(url.pathname));
    if (!file.startsWith(base)) {
      res.writeHead(403).end("forbidden");
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = path.join(file, "index.html");
      const { size, mtimeMs } = statSync(file);
      // no-cache + ETag: browsers revalidate every time and get 304 when nothing changed,
      // so a warm start is served from the HTTP cache but never a stale build.
      const etag = `"${size.toString(36)}-${Math.floor(mtimeMs).toString(36)}"`;
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { etag, "cache-control": "no-cache" }).end();
        return;
      }
      const headers = { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "content-length": size, "cache-control": "no-cache", etag };
      // The SDK's service worker lives in dist/ but must control pages anywhere here.
      if (path.basename(file) === "sw.js") headers["service-worker-allowed"] = "/";
      if (isolate) {
        headers["cross-origin-opener-policy"] = "same-origin";
        headers["cross-origin-embedder-policy"] = "require-corp";
      }
      res.writeHead(200, headers);
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${url.pathname}`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: actual } = server.address();
      resolve({ url: `http://127.0.0.1:${actual}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
