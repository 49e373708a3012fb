// What the benchmark drivers (run.mjs, memory.mjs) share: the native CLI, the
// browser's resident memory, and a long recording (also used by tests-web/progress).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * audio-lena's recording (`root`'s node_modules; 12 s, 16-bit PCM WAV) repeated `copies`
 * times as one WAV file: its data chunk repeated under one header. Returns the bytes,
 * the sample rate (Hz) and the duration (s).
 */
export function repeatedLena(root, copies) {
  const src = readFileSync(path.join(root, "node_modules/audio-lena/lena.wav"));
  let off = 12;
  let fmt;
  let data;
  while (off + 8 <= src.length) {
    const id = src.toString("ascii", off, off + 4);
    const size = src.readUInt32LE(off + 4);
    if (id === "fmt ") fmt = src.subarray(off, off + 8 + size);
    if (id === "data") data = src.subarray(off + 8, off + 8 + size);
    off += 8 + size + (size % 2);
  }
  const rate = fmt.readUInt32LE(12);
  const header = Buffer.alloc(12);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(4 + fmt.length + 8 + data.length * copies, 4);
  header.write("WAVE", 8, "ascii");
  const dataHeader = Buffer.alloc(8);
  dataHeader.write("data", 0, "ascii");
  dataHeader.writeUInt32LE(data.length * copies, 4);
  const bytes = Buffer.concat([header, fmt, dataHeader, ...Array(copies).fill(data)]);
  return { bytes, rate, seconds: (data.length * copies) / 2 / rate, copyBytes: data.length };
}

/**
 * The native CLI to measure: in quick mode (npm test, which only proves the harness
 * runs) npm test's debug build from REMOTEMEDIA_CLI; otherwise the release build,
 * built here first. Throws when the build fails.
 */
export function nativeCli(root, quick) {
  if (quick && process.env.REMOTEMEDIA_CLI) return process.env.REMOTEMEDIA_CLI;
  const build = spawnSync("cargo", ["build", "--release", "-q", "-p", "remotemedia-cli", "--bin", "remotemedia"], { cwd: root, stdio: "inherit" });
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
