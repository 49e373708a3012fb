/** Base64 of raw bytes and float32 samples, the wire format's payload encoding (little-endian, padded). */
import { InputError } from "./errors.js";

const CHUNK = 0x8000;

/** The native base64 of recent engines (`Uint8Array.prototype.toBase64`, `Uint8Array.fromBase64`). */
interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string;
}
const nativeToBase64 = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (text: string, options?: { lastChunkHandling?: string }) => Uint8Array })
  .fromBase64;

/** Base64 of raw bytes (the engine's own encoder where it has one). */
export function bytesToBase64(bytes: Uint8Array): string {
  if (nativeToBase64) return nativeToBase64.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return btoa(binary);
}

/** Raw bytes of a base64 string. Throws InputError on malformed base64. */
export function base64ToBytes(text: string): Uint8Array {
  // Padded, as the Rust codec requires (atob and fromBase64 would accept "AAA").
  if (text.length % 4 !== 0) throw new InputError("malformed base64");
  if (nativeFromBase64) {
    try {
      return nativeFromBase64(text, { lastChunkHandling: "strict" });
    } catch {
      throw new InputError("malformed base64");
    }
  }
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new InputError("malformed base64");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Base64 of float32 samples (little-endian bytes). */
export function float32ToBase64(samples: Float32Array): string {
  return bytesToBase64(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
}

/** Float32 samples from base64. Throws InputError if the byte count is not a multiple of 4. */
export function base64ToFloat32(text: string): Float32Array {
  return float32Of(base64ToBytes(text));
}

/** Float32 samples viewing `bytes` (copied when unaligned). Throws InputError if the byte count is not a multiple of 4. */
export function float32Of(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new InputError(`${bytes.length} bytes is not a whole number of float32 samples`);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
}
