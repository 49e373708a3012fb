// The static file server of the browser CLI, the demo page, the benchmarks and the
// end-to-end tests: sirv (files, MIME types, ETags, path normalisation inside the root)
// on loopback, with what these pages need around it: no dotfiles, revalidation on every
// request, the service worker's wider scope, and optional cross-origin isolation.
import { createServer } from "node:http";
import path from "node:path";
import sirv from "sirv";

/**
 * Serves `root` on 127.0.0.1. Options: `port` (0 = any free port), `isolate` (send
 * COOP/COEP so the page is cross-origin isolated), `onRequest(pathname)` (a hook that
 * sees every request, for tests; returning false drops the connection unanswered, as a
 * failing network would; "hold" leaves the request unanswered, as a stalled load).
 * Resolves with `{ url, close() }`. Never serves a path with a segment starting with "."
 * (`.git`, `..`), raw or percent-encoded; answers 404.
 */
export function serve(root, { port = 0, isolate = false, onRequest } = {}) {
  const files = sirv(path.resolve(root), {
    dev: true, // look files up per request: they change under the tests
    etag: true, // with dev, "no-cache" + ETag: a warm start revalidates and gets 304s
    dotfiles: false,
    setHeaders(res, pathname) {
      // The SDK's service worker lives in dist/ but may control pages anywhere here.
      if (pathname.endsWith("/sw.js")) res.setHeader("service-worker-allowed", "/");
      if (isolate) {
        res.setHeader("cross-origin-opener-policy", "same-origin");
        res.setHeader("cross-origin-embedder-policy", "require-corp");
      }
    },
    onNoMatch(req, res) {
      notFound(res, req.url);
    },
  });
  const server = createServer((req, res) => {
    const raw = (req.url ?? "/").split("?")[0];
    const verdict = onRequest?.(raw);
    if (verdict === false) return req.socket.destroy();
    if (verdict === "hold") return;
    if (hasDotSegment(raw)) return notFound(res, raw);
    files(req, res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: actual } = server.address();
      resolve({
        url: `http://127.0.0.1:${actual}`,
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Whether any segment of the path (decoded as far as it decodes) starts with a dot. */
function hasDotSegment(pathname) {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // malformed escapes: judge the raw text
  }
  return [pathname, decoded].some((p) => p.split(/[/\\]/).some((segment) => segment.startsWith(".")));
}

function notFound(res, what) {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`not found: ${what}`);
}
