/**
 * `.rmpkg` packages given as bytes: the runtime reads them (`readPackage` in the
 * main-thread wasm); this turns its answers into the SDK's shapes and errors.
 */
import { ManifestError } from "../errors.js";
import type { Problem } from "../errors.js";
import type { PackageContents } from "../types.js";

/** The runtime's answer to reading a package (its problem's path is already `rmpkg:<entry>`). */
export type PackageAnswer = PackageContents | { error: Problem };

/** Whether a manifest argument is package bytes. */
export function isBytes(manifest: unknown): manifest is Uint8Array | ArrayBuffer {
  return manifest instanceof Uint8Array || manifest instanceof ArrayBuffer;
}

/** Whether the bytes' buffer was detached (transferred elsewhere): it then reads as empty. */
export function isDetached(bytes: Uint8Array | ArrayBuffer): boolean {
  const buffer = bytes instanceof Uint8Array ? bytes.buffer : bytes;
  return (buffer as { detached?: boolean }).detached === true;
}

/** The bytes as a Uint8Array (a view, not a copy); a detached buffer reads as empty (no view can be made of it). */
export function bytesOf(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  if (isDetached(bytes)) return new Uint8Array(0);
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

/** A problem the runtime reported, as the ManifestError `run` and `readPackage` throw. */
export function manifestError(problem: Problem, detached: boolean): ManifestError {
  const message = detached
    ? `${problem.message} (the package's ArrayBuffer was detached, transferred elsewhere: pass a live one)`
    : problem.message;
  return ManifestError.of([{ path: problem.path, message }]);
}

/** Reads a package with the runtime's `read`; throws ManifestError naming the entry when it cannot be read. */
export function readPackageBytes(bytes: Uint8Array | ArrayBuffer, read: (bytes: Uint8Array) => unknown): PackageContents {
  const answer = read(bytesOf(bytes)) as PackageAnswer;
  if ("error" in answer) throw manifestError(answer.error, isDetached(bytes));
  return answer;
}
