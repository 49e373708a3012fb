// Server-side rendering: the package and its bindings import in Node.js without
// touching a browser global, and RemoteMedia.create() there rejects with one typed
// error, leaving nothing unhandled (an unhandled rejection would fail this test run).
import { test } from "node:test";
import assert from "node:assert/strict";

const unhandled = [];
process.on("unhandledRejection", (reason) => unhandled.push(reason));

test("the SDK and both bindings import on a server", async () => {
  const sdk = await import("../dist/index.js");
  const react = await import("../dist/react.js");
  const vue = await import("../dist/vue.js");
  assert.equal(typeof sdk.RemoteMedia.create, "function");
  assert.equal(typeof react.useRemoteMedia, "function");
  assert.equal(typeof vue.useRemoteMedia, "function");
  assert.equal(typeof globalThis.window, "undefined", "importing must not define browser globals");
});

test("create() outside a browser rejects with UnsupportedEnvironmentError and leaves nothing behind", async () => {
  const { RemoteMedia, UnsupportedEnvironmentError, RemoteMediaError } = await import("../dist/index.js");
  const err = await RemoteMedia.create({ python: true }).then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof UnsupportedEnvironmentError, String(err));
  assert.ok(err instanceof RemoteMediaError);
  assert.match(err.message, /needs a browser: Web Workers are not available/);
  await new Promise((r) => setTimeout(r, 50)); // let any stray promise settle
  assert.deepEqual(unhandled, []);
});

test("the React hook renders on a server: loading, no pool started", async () => {
  const { createElement } = await import("react");
  const { renderToString } = await import("react-dom/server");
  const { useRemoteMedia } = await import("../dist/react.js");
  function App() {
    const { status, rm } = useRemoteMedia();
    return createElement("p", null, `${status} ${rm === null}`);
  }
  assert.equal(renderToString(createElement(App)), "<p>loading true</p>");
});

test("the Vue composable renders on a server: loading, no pool started", async () => {
  const { createSSRApp, h } = await import("vue");
  const { renderToString } = await import("vue/server-renderer");
  const { useRemoteMedia } = await import("../dist/vue.js");
  const app = createSSRApp({
    setup() {
      const { status, rm } = useRemoteMedia();
      return () => h("p", `${status.value} ${rm.value === null}`);
    },
  });
  assert.equal(await renderToString(app), "<p>loading true</p>");
});
