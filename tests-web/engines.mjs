// The browser engines besides Chromium, driven the way their vendors support, with the
// system's own browsers (Debian packages; scripts/setup.sh installs them):
// - Firefox (firefox-esr) over WebDriver BiDi with puppeteer-core (no geckodriver);
// - WebKit: WebKitGTK's MiniBrowser through WebKitWebDriver (classic WebDriver with
//   webdriverio), under Xvfb (MiniBrowser needs a display).
// Each engine is a page with `evaluate(fn, arg)` (fn runs in the page; what it returns
// must be JSON data) and `close()`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

export const FIREFOX = "/usr/bin/firefox-esr";
export const WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver";
const MINIBROWSER = ["/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser", "/usr/libexec/webkit2gtk-4.1/MiniBrowser"].find(existsSync);

/** Why `engine` cannot run here (its browser is missing), or null. */
export function missing(engine) {
  if (spawnSync("pulseaudio", ["--version"]).status !== 0) return "pulseaudio is missing (apt install pulseaudio)";
  if (engine === "firefox") return existsSync(FIREFOX) ? null : `${FIREFOX} is missing (apt install firefox-esr)`;
  if (!existsSync(WEBKIT_DRIVER) || !MINIBROWSER) return "WebKitWebDriver or MiniBrowser is missing (apt install webkit2gtk-driver)";
  if (!existsSync("/usr/bin/xvfb-run")) return "xvfb-run is missing (apt install xvfb)";
  return null;
}

/**
 * An audio output for the engines' AudioContexts: without one, Firefox's stays
 * suspended. A PulseAudio daemon (started if none runs) with a null sink, idempotently.
 */
let startedPulse = false;
function ensureAudioDevice() {
  if (spawnSync("pulseaudio", ["--check"]).status !== 0) {
    const started = spawnSync("pulseaudio", ["-D", "--exit-idle-time=-1"], { encoding: "utf8" });
    if (started.status !== 0) throw new Error(`pulseaudio did not start: ${started.stderr}`);
    startedPulse = true;
  }
  const sinks = spawnSync("pactl", ["list", "short", "sinks"], { encoding: "utf8" }).stdout ?? "";
  if (!sinks.includes("remotemedia_null")) spawnSync("pactl", ["load-module", "module-null-sink", "sink_name=remotemedia_null"]);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Opens `url` in Firefox; `fakeMedia` gives getUserMedia Firefox's fake audio (a tone) without a prompt. */
async function firefox(url) {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    protocol: "webDriverBiDi",
    extraPrefsFirefox: { "media.navigator.streams.fake": true, "media.navigator.permission.disabled": true },
  });
  const page = await browser.newPage();
  await page.goto(url);
  return {
    name: "firefox",
    version: await browser.version(),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    close: () => browser.close(),
  };
}

/** Opens `url` in WebKitGTK's MiniBrowser (mock capture devices on, for getUserMedia). */
async function webkit(url) {
  const { remote } = await import("webdriverio");
  const port = await freePort();
  const driver = spawn("xvfb-run", ["-a", WEBKIT_DRIVER, `--port=${port}`], { stdio: "ignore", detached: true });
  const stopDriver = () => {
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {
      // gone already
    }
  };
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 100) {
      stopDriver();
      throw new Error("WebKitWebDriver did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let browser;
  try {
    browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "warn",
      capabilities: {
        browserName: "MiniBrowser",
        "wdio:enforceWebDriverClassic": true,
        "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation", "--enable-mock-capture-devices=true", "--enable-media-stream=true"] },
      },
    });
    await browser.url(url);
  } catch (err) {
    stopDriver();
    throw err;
  }
  return {
    name: "webkit",
    version: await browser.execute(() => navigator.userAgent),
    evaluate: (fn, arg) => browser.execute(fn, arg),
    close: async () => {
      await browser.deleteSession().catch(() => {});
      stopDriver();
    },
  };
}

/** Stops the PulseAudio daemon if {@link open} started it (the test files after these run without it). */
export function releaseAudioDevice() {
  if (startedPulse) spawnSync("pulseaudio", ["--kill"]);
  startedPulse = false;
}

/** A page of `engine` ("firefox" or "webkit") at `url`. */
export function open(engine, url) {
  ensureAudioDevice();
  return engine === "firefox" ? firefox(url) : webkit(url);
}
