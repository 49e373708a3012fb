/**
 * `Blob` and `File` inputs: what `MediaRecorder` and `<input type=file>` give. They are
 * read into bytes (a binary item) before an item is converted to its wire form, since
 * a Blob can only be read asynchronously.
 */
import { InputError } from "./errors.js";

/** Whether `value` is a `Blob` (a `File` is one). False where `Blob` does not exist. */
export function isBlob(value: unknown): value is Blob {
  return typeof Blob === "function" && value instanceof Blob;
}

/**
 * The bytes of `blob`, as a binary item's `Uint8Array`. Rejects with InputError (naming
 * `where`) when the Blob cannot be read, e.g. a `File` deleted or changed on disk.
 */
export async function readBlob(blob: Blob, where: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await blob.arrayBuffer());
  } catch (err) {
    const name = typeof File === "function" && blob instanceof File ? `the File "${blob.name}"` : "the Blob";
    throw new InputError(`${where}: ${name} could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `items` with every Blob replaced by its bytes (the others unchanged, same order). */
export async function readBlobs<T>(items: T[]): Promise<(T | Uint8Array)[]> {
  if (!items.some(isBlob)) return items;
  return Promise.all(items.map((item, i) => (isBlob(item) ? readBlob(item, `inputs[${i}]`) : item)));
}
