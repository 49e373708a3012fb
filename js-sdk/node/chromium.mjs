// Launches the system Chromium through playwright-core (never a browser download).
// CHROME_PATH overrides the executable; the flags keep it quiet on a closed network.
import { chromium } from "playwright-core";
import { existsSync } from "node:fs";

export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The Chromium executable: $CHROME_PATH, else /usr/bin/chromium. Throws a clear error if absent. */
export function chromiumPath() {
  const candidates = [process.env.CHROME_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Chromium found (tried ${candidates.join(", ")}); install it (apt-get install chromium) or set CHROME_PATH`);
  return found;
}

/** A headless browser, with `extraArgs` after the usual flags; close it with `browser.close()`. */
export function launch(extraArgs = []) {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_FLAGS, ...extraArgs] });
}

/**
 * Flags for a fake microphone playing `wavFile` (once, not looped) without a
 * permission prompt, and audio that starts without a user gesture.
 */
export function fakeMicrophoneFlags(wavFile) {
  return [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-audio-capture=${wavFile}%noloop`,
    "--autoplay-policy=no-user-gesture-required",
  ];
}
