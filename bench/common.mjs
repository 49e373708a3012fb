// What the benchmark drivers (run.mjs, memory.mjs) share: the native CLI and the
// browser's resident memory.
import { spawnSync } from "node:child_process";
import path from "node:path";

/**
 * The native CLI to measure: in quick mode (npm test, which only proves the harness
 * runs) npm test's debug build from REMOTEMEDIA_CLI; otherwise the release build,
 * built here first. Throws when the build fails.
 */
export function nativeCli(root, quick) {
  if (quick && process.env.REMOTEMEDIA_CLI) return process.env.REMOTEMEDIA_CLI;
  const build = spawnSync("cargo", ["build", "--release", "-q", "-p", "remotemedia-runtime", "--bin", "remotemedia"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) throw new Error("cargo build of the native CLI failed");
  return path.join(root, "target/release/remotemedia");
}

/** Resident memory of the browser's renderer processes (MiB): pages, workers and their WebAssembly memory. */
export function rendererRssMiB() {
  const ps = spawnSync("ps", ["-eo", "rss=,args="], { encoding: "utf8" });
  return (ps.stdout ?? "")
    .split("\n")
    .filter((line) => line.includes("--type=renderer"))
    .reduce((sum, line) => sum + Number.parseInt(line.trim(), 10) / 1024, 0);
}
