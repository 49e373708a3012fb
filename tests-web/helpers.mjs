// Shared set-up of the end-to-end tests: one static server on the repository root,
// one headless system Chromium per test file, and pages with the SDK loaded.
import { after } from "node:test";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../js-sdk/node/server.mjs";
import { launch } from "../js-sdk/node/chromium.mjs";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const artifacts = path.join(root, "tests-web/artifacts");
mkdirSync(artifacts, { recursive: true });

/**
 * The server and browser of this test file, started on first use (`await ctx.ready()`)
 * and closed after its tests. `isolate` serves with COOP/COEP (cross-origin isolated
 * pages); `args` are extra Chromium flags (a fake microphone, for example).
 */
export function useBrowser({ isolate = false, args = [] } = {}) {
  let starting = null;
  const ctx = {
    ready() {
      starting ??= (async () => {
        ctx.server = await serve(root, { isolate });
        ctx.browser = await launch(args);
      })();
      return starting;
    },
  };
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.close();
  });
  return ctx;
}

/** A page with the SDK loaded as `window.sdk`; page errors are collected in `page.errors`. */
export async function sdkPage(ctx) {
  await ctx.ready();
  const page = await ctx.browser.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(`${ctx.server.url}/js-sdk/node/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 30_000 });
  return page;
}

/** Creates `window.rm` in the page with the given options. */
export async function createRemoteMedia(page, options = {}) {
  await page.evaluate(async (options) => {
    window.rm = await window.sdk.RemoteMedia.create(options);
  }, options);
}
