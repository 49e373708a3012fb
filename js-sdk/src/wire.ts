/**
 * The TypeScript side of the wire format (docs/wire-format.md): converts what users
 * pass to `run`/`push` into wire items, and wire items back into JS values.
 * Float32 payloads are base64 of little-endian bytes (all browsers are little-endian).
 */
import { InputError } from "./errors.js";

/** Audio as the SDK hands it to users and accepts it: interleaved float32 samples. */
export interface AudioData {
  /** Interleaved samples, length = frames * channels. */
  audio: Float32Array;
  /** Frames per second, in Hz. */
  sampleRate: number;
  /** Interleaved channels (default 1). */
  channels?: number;
  /** Presentation time of the first frame, in microseconds. */
  timestampUs?: number;
  /** Stream identifier. */
  streamId?: string;
  /** Annotations from nodes (for example `vad`). */
  metadata?: Record<string, unknown>;
}

/** An n-dimensional array (the numpy envelope). */
export interface TensorData {
  tensor: Float32Array | Float64Array | Int16Array | Int32Array | BigInt64Array | Uint8Array;
  shape: number[];
  dtype: "float32" | "float64" | "int16" | "int32" | "int64" | "uint8";
}

/**
 * What `run` and `push` accept: `AudioData`, `TensorData`, a bare `Float32Array`
 * (a 1-D float32 tensor), `ArrayBuffer`/`Uint8Array` (binary, e.g. a file), strings
 * (text), plain JSON, or items already in wire form (envelopes).
 */
export type InputItem = AudioData | TensorData | Float32Array | ArrayBuffer | Uint8Array | string | number | boolean | null | unknown[] | Record<string, unknown>;

/** What results contain: text as string, JSON as JSON, audio, tensors, binary as Uint8Array. */
export type OutputItem = AudioData | TensorData | Uint8Array | string | unknown;

const MARKERS = ["__numpy__", "__audio__", "__binary__", "__json__"];
const CHUNK = 0x8000;

/** The native base64 of recent engines (`Uint8Array.prototype.toBase64`, `Uint8Array.fromBase64`). */
interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string;
}
const nativeToBase64 = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }).fromBase64;

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
  if (nativeFromBase64) {
    try {
      return nativeFromBase64(text);
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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function isAudio(value: unknown): value is AudioData {
  return isPlainObject(value) && value.audio instanceof Float32Array && typeof value.sampleRate === "number";
}

function isTensor(value: unknown): value is TensorData {
  return isPlainObject(value) && ArrayBuffer.isView(value.tensor) && Array.isArray(value.shape);
}

/**
 * Where payload bytes go. Without a list, base64 strings (the portable JSON form);
 * with one, each payload is copied into a fresh ArrayBuffer appended to the list and
 * the envelope's data becomes `{"$buffer": n}` (the caller's arrays are never detached).
 */
function payload(bytes: Uint8Array, buffers?: ArrayBuffer[]): unknown {
  if (!buffers) return bytesToBase64(bytes);
  buffers.push(bytes.slice().buffer as ArrayBuffer);
  return { $buffer: buffers.length - 1 };
}

function viewBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Converts one user input into its wire form; with `buffers`, payloads go there as
 * transferable ArrayBuffers. Throws InputError for unsupported values.
 */
export function toWire(item: InputItem, where = "input", buffers?: ArrayBuffer[]): unknown {
  if (typeof item === "string" || typeof item === "number" || typeof item === "boolean" || item === null) return item;
  if (isAudio(item)) {
    const channels = item.channels ?? 1;
    if (!Number.isInteger(item.sampleRate) || item.sampleRate <= 0) throw new InputError(`${where}: sampleRate must be a whole number of Hz > 0`);
    if (!Number.isInteger(channels) || channels <= 0) throw new InputError(`${where}: channels must be a whole number > 0`);
    if (item.audio.length % channels !== 0) throw new InputError(`${where}: ${item.audio.length} samples is not a whole number of ${channels}-channel frames`);
    const meta: Record<string, unknown> = { sample_rate: item.sampleRate, channels, frames: item.audio.length / channels, dtype: "float32" };
    if (item.timestampUs !== undefined) meta.timestamp_us = item.timestampUs;
    if (item.streamId !== undefined) meta.stream_id = item.streamId;
    if (item.metadata !== undefined) meta.metadata = item.metadata;
    return { __audio__: true, audio: { meta, data: payload(viewBytes(item.audio), buffers) } };
  }
  if (isTensor(item)) {
    return { __numpy__: true, array: { meta: { shape: item.shape, dtype: item.dtype }, data: payload(viewBytes(item.tensor), buffers) } };
  }
  if (item instanceof Float32Array) {
    return { __numpy__: true, array: { meta: { shape: [item.length], dtype: "float32" }, data: payload(viewBytes(item), buffers) } };
  }
  if (item instanceof ArrayBuffer) return { __binary__: true, binary: { meta: {}, data: payload(new Uint8Array(item), buffers) } };
  if (item instanceof Uint8Array) return { __binary__: true, binary: { meta: {}, data: payload(item, buffers) } };
  if (ArrayBuffer.isView(item)) throw new InputError(`${where}: typed arrays other than Float32Array and Uint8Array need a {tensor, shape, dtype} wrapper`);
  if (Array.isArray(item)) return item;
  if (isPlainObject(item)) {
    // An object whose marker key is `true` is an envelope the caller wrote; any other
    // object with a marker key is user JSON and gets the `__json__` escape.
    const marker = MARKERS.find((m) => m in item);
    if (marker && item[marker] !== true) return { __json__: true, value: item };
    return item;
  }
  throw new InputError(`${where}: cannot send a ${Object.prototype.toString.call(item)}`);
}

const TYPED: Record<string, (b: ArrayBuffer) => TensorData["tensor"]> = {
  float32: (b) => new Float32Array(b),
  float64: (b) => new Float64Array(b),
  int16: (b) => new Int16Array(b),
  int32: (b) => new Int32Array(b),
  int64: (b) => new BigInt64Array(b),
  uint8: (b) => new Uint8Array(b),
};

/** The bytes of an envelope's data: base64 text, or a `{"$buffer": n}` reference (no copy). */
function dataBytes(data: unknown, buffers?: Uint8Array[]): Uint8Array {
  if (typeof data === "string") return base64ToBytes(data);
  const ref = (data as { $buffer?: unknown } | null)?.$buffer;
  const bytes = typeof ref === "number" ? buffers?.[ref] : undefined;
  if (!bytes) throw new InputError(`envelope data is neither base64 nor a known buffer: ${JSON.stringify(data)}`);
  return bytes;
}

/** Float32 samples over `bytes`, without a copy when they are 4-byte aligned. */
function float32Of(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new InputError(`${bytes.length} bytes is not a whole number of float32 samples`);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
}

/** Converts one wire item into the JS value users get; `buffers` resolves `{"$buffer": n}` payloads. */
export function fromWire(value: unknown, buffers?: Uint8Array[]): OutputItem {
  if (!isPlainObject(value)) return value;
  const marker = MARKERS.find((m) => m in value);
  if (!marker) return value;
  if (marker === "__json__") return value.value;
  if (marker === "__binary__") return dataBytes((value.binary as Record<string, unknown>).data, buffers);
  if (marker === "__numpy__") {
    const array = value.array as { meta: { shape: number[]; dtype: string }; data: unknown };
    const dtype = array.meta.dtype.replace("<f4", "float32") as TensorData["dtype"];
    const make = TYPED[dtype];
    if (!make) throw new InputError(`unsupported dtype ${dtype}`);
    const bytes = dataBytes(array.data, buffers).slice(); // own, aligned buffer for any dtype
    return { tensor: make(bytes.buffer as ArrayBuffer), shape: array.meta.shape, dtype };
  }
  const audio = value.audio as { meta: Record<string, unknown>; data: unknown };
  const out: AudioData = {
    audio: float32Of(dataBytes(audio.data, buffers)),
    sampleRate: Number(audio.meta.sample_rate),
    channels: Number(audio.meta.channels),
  };
  if (typeof audio.meta.timestamp_us === "number") out.timestampUs = audio.meta.timestamp_us;
  if (typeof audio.meta.stream_id === "string") out.streamId = audio.meta.stream_id;
  if (isPlainObject(audio.meta.metadata)) out.metadata = audio.meta.metadata;
  return out;
}
