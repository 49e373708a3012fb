/**
 * The TypeScript side of the wire format (docs/wire-format.md): converts what users
 * pass to `run`/`push` into wire items, and wire items back into JS values.
 * Float32 payloads are base64 of little-endian bytes (all browsers are little-endian).
 */
import { base64ToBytes, bytesToBase64, float32Of } from "./base64.js";
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

/**
 * An n-dimensional row-major array (the numpy envelope), with the original RemoteMedia
 * SDK's dtypes. `bool` elements are bytes, 0 or 1, in a `Uint8Array`; 64-bit integers
 * are `BigInt64Array` / `BigUint64Array`.
 */
export interface TensorData {
  tensor:
    | Float32Array
    | Float64Array
    | Int8Array
    | Int16Array
    | Int32Array
    | BigInt64Array
    | Uint8Array
    | Uint16Array
    | Uint32Array
    | BigUint64Array;
  /** Dimensions, outermost first; the element count is their product. */
  shape: number[];
  dtype: "float32" | "float64" | "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64" | "bool";
}

/**
 * What `run` and `push` accept: `AudioData`, `TensorData`, a bare `Float32Array`
 * (a 1-D float32 tensor), `Blob`/`File`/`ArrayBuffer`/`Uint8Array` (binary, e.g. an
 * audio file from `MediaRecorder` or `<input type=file>`), strings (text), plain JSON,
 * or items already in wire form (envelopes).
 */
export type InputItem =
  | AudioData
  | TensorData
  | Float32Array
  | Blob
  | ArrayBuffer
  | Uint8Array
  | string
  | number
  | boolean
  | null
  | unknown[]
  | Record<string, unknown>;

/** What results contain: text as string, JSON as JSON, audio, tensors, binary as Uint8Array. */
export type OutputItem = AudioData | TensorData | Uint8Array | string | unknown;

const MARKERS = ["__numpy__", "__audio__", "__binary__", "__json__"];
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Whether an item (an output, or an event's data) is decoded audio: narrows `OutputItem` to {@link AudioData}. */
export function isAudio(value: unknown): value is AudioData {
  return isPlainObject(value) && value.audio instanceof Float32Array && typeof value.sampleRate === "number";
}

/** Whether an item is a decoded tensor (the numpy envelope): narrows `OutputItem` to {@link TensorData}. */
export function isTensor(value: unknown): value is TensorData {
  return isPlainObject(value) && ArrayBuffer.isView(value.tensor) && Array.isArray(value.shape);
}

/**
 * Where payload bytes go: base64 strings (the portable JSON form), or, with a
 * {@link Transfer}, ArrayBuffers in its list, the envelope's data becoming
 * `{"$buffer": n}`.
 */
function payload(bytes: Uint8Array, transfer?: Transfer): unknown {
  if (!transfer) return bytesToBase64(bytes);
  const { buffers } = transfer;
  const whole = bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.byteLength === bytes.buffer.byteLength;
  // Detach only what the caller allowed, only whole buffers, and each buffer once.
  buffers.push(
    transfer.detach && whole && !buffers.includes(bytes.buffer as ArrayBuffer)
      ? (bytes.buffer as ArrayBuffer)
      : (bytes.slice().buffer as ArrayBuffer),
  );
  return { $buffer: buffers.length - 1 };
}

/**
 * Payloads as transferable buffers: `buffers` receives them. With `detach`, the
 * caller's own ArrayBuffers are transferred (no copy; the caller's arrays become
 * empty); without, each payload is copied first.
 */
export interface Transfer {
  buffers: ArrayBuffer[];
  detach?: boolean;
}

function viewBytes(view: ArrayBufferView, where = "input"): Uint8Array {
  // A detached array reads as empty: sending it would silently send nothing.
  if ((view.buffer as { detached?: boolean }).detached === true)
    throw new InputError(`${where}: the array's buffer was detached (transferred elsewhere); pass a live array`);
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Converts one user input into its wire form; with a `transfer`, payloads go into its
 * list as transferable ArrayBuffers. Throws InputError for unsupported values.
 */
export function toWire(item: InputItem, where = "input", transfer?: Transfer): unknown {
  if (typeof item === "string" || typeof item === "number" || typeof item === "boolean" || item === null) return item;
  if (isAudio(item)) {
    const channels = item.channels ?? 1;
    if (!Number.isInteger(item.sampleRate) || item.sampleRate <= 0)
      throw new InputError(`${where}: sampleRate must be a whole number of Hz > 0`);
    if (!Number.isInteger(channels) || channels <= 0) throw new InputError(`${where}: channels must be a whole number > 0`);
    if (item.audio.length % channels !== 0)
      throw new InputError(`${where}: ${item.audio.length} samples is not a whole number of ${channels}-channel frames`);
    const meta: Record<string, unknown> = {
      sample_rate: item.sampleRate,
      channels,
      frames: item.audio.length / channels,
      dtype: "float32",
    };
    if (item.timestampUs !== undefined) meta.timestamp_us = item.timestampUs;
    if (item.streamId !== undefined) meta.stream_id = item.streamId;
    if (item.metadata !== undefined) meta.metadata = item.metadata;
    return { __audio__: true, audio: { meta, data: payload(viewBytes(item.audio, where), transfer) } };
  }
  if (isTensor(item)) {
    return { __numpy__: true, array: { meta: arrayMeta(item.shape, item.dtype), data: payload(viewBytes(item.tensor, where), transfer) } };
  }
  if (item instanceof Float32Array) {
    return { __numpy__: true, array: { meta: arrayMeta([item.length], "float32"), data: payload(viewBytes(item, where), transfer) } };
  }
  if (item instanceof ArrayBuffer) {
    if ((item as { detached?: boolean }).detached === true)
      throw new InputError(`${where}: the ArrayBuffer was detached (transferred elsewhere); pass a live one`);
    return { __binary__: true, binary: { meta: {}, data: payload(new Uint8Array(item), transfer) } };
  }
  if (item instanceof Uint8Array) return { __binary__: true, binary: { meta: {}, data: payload(viewBytes(item, where), transfer) } };
  if (typeof Blob === "function" && item instanceof Blob)
    throw new InputError(`${where}: a Blob must be read first (run and push do; here, pass new Uint8Array(await blob.arrayBuffer()))`);
  if (ArrayBuffer.isView(item))
    throw new InputError(`${where}: typed arrays other than Float32Array and Uint8Array need a {tensor, shape, dtype} wrapper`);
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

/**
 * numpy's dtype names and little-endian type strings the wire accepts: the Rust codec's
 * table (`test-vectors/wire.json`, `dtypes`; js-sdk/test/wire.test.mjs checks this one
 * against it).
 */
export const DTYPES: Record<string, TensorData["dtype"]> = {
  float32: "float32",
  "<f4": "float32",
  f4: "float32",
  float64: "float64",
  "<f8": "float64",
  f8: "float64",
  int8: "int8",
  "|i1": "int8",
  i1: "int8",
  int16: "int16",
  "<i2": "int16",
  i2: "int16",
  int32: "int32",
  "<i4": "int32",
  i4: "int32",
  int64: "int64",
  "<i8": "int64",
  i8: "int64",
  uint8: "uint8",
  "|u1": "uint8",
  u1: "uint8",
  uint16: "uint16",
  "<u2": "uint16",
  u2: "uint16",
  uint32: "uint32",
  "<u4": "uint32",
  u4: "uint32",
  uint64: "uint64",
  "<u8": "uint64",
  u8: "uint64",
  bool: "bool",
  "|b1": "bool",
  b1: "bool",
};

/** Bytes per element and the typed array of each dtype. */
export const TYPED: Record<TensorData["dtype"], { size: number; make: (b: ArrayBuffer) => TensorData["tensor"] }> = {
  float32: { size: 4, make: (b) => new Float32Array(b) },
  float64: { size: 8, make: (b) => new Float64Array(b) },
  int8: { size: 1, make: (b) => new Int8Array(b) },
  int16: { size: 2, make: (b) => new Int16Array(b) },
  int32: { size: 4, make: (b) => new Int32Array(b) },
  int64: { size: 8, make: (b) => new BigInt64Array(b) },
  uint8: { size: 1, make: (b) => new Uint8Array(b) },
  uint16: { size: 2, make: (b) => new Uint16Array(b) },
  uint32: { size: 4, make: (b) => new Uint32Array(b) },
  uint64: { size: 8, make: (b) => new BigUint64Array(b) },
  bool: { size: 1, make: (b) => new Uint8Array(b) },
};

/**
 * The numpy envelope's meta as the original SDK writes it (and its reader requires):
 * `size` is the element count; data is row-major, so C-contiguous, and
 * Fortran-contiguous too when at most one dimension exceeds 1 (numpy's rule).
 */
function arrayMeta(shape: number[], dtype: string): Record<string, unknown> {
  const size = shape.reduce((a, b) => a * b, 1);
  const fortran = size === 0 || shape.filter((d) => d > 1).length <= 1;
  return { shape, dtype, size, c_contiguous: true, f_contiguous: fortran };
}

/** A malformed envelope: the error names the JSON path, as the Rust codec's does (`$.audio.data: ...`). */
function wireError(path: string, message: string): InputError {
  return new InputError(`${path}: ${message}`);
}

function field(map: Record<string, unknown>, key: string, at: string): Record<string, unknown> {
  const value = map[key];
  if (value === undefined) throw wireError(`${at}.${key}`, "missing");
  if (!isPlainObject(value)) throw wireError(`${at}.${key}`, `expected an object, got ${jsonKind(value)}`);
  return value;
}

function jsonKind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value;
}

/** The bytes of an envelope's data: base64 text, or a `{"$buffer": n}` reference (no copy). */
function dataBytes(body: Record<string, unknown>, at: string, buffers?: Uint8Array[]): Uint8Array {
  const path = `${at}.data`;
  const data = body.data;
  if (data === undefined) throw wireError(path, "missing");
  if (typeof data === "string") {
    try {
      return base64ToBytes(data);
    } catch {
      throw wireError(path, "malformed base64");
    }
  }
  const ref = isPlainObject(data) ? data.$buffer : undefined;
  const bytes = typeof ref === "number" ? buffers?.[ref] : undefined;
  if (!bytes) throw wireError(path, `expected a base64 string, got ${jsonKind(data)}`);
  return bytes;
}

/** Float32 samples over `bytes`, without a copy when they are 4-byte aligned. */
/** A whole number in 1..=2^32-1 (sample rates, channel counts), as the Rust codec requires. */
function positive(meta: Record<string, unknown>, key: string): number {
  const value = meta[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || value > 0xffffffff) {
    throw wireError(`$.audio.meta.${key}`, "expected a whole number > 0");
  }
  return value;
}

function decodeTensor(value: Record<string, unknown>, buffers?: Uint8Array[]): TensorData {
  const body = field(value, "array", "$");
  const meta = field(body, "meta", "$.array");
  if (typeof meta.dtype !== "string") throw wireError("$.array.meta.dtype", "expected a dtype string");
  const dtype = DTYPES[meta.dtype];
  if (!dtype)
    throw wireError("$.array.meta.dtype", `unsupported dtype ${JSON.stringify(meta.dtype)} (known: ${Object.keys(TYPED).join(", ")})`);
  const shape = meta.shape;
  if (!Array.isArray(shape)) throw wireError("$.array.meta.shape", "expected an array of sizes");
  if (!shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0))
    throw wireError("$.array.meta.shape", "sizes must be whole numbers >= 0");
  const { size, make } = TYPED[dtype];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (meta.size !== undefined && meta.size !== count)
    throw wireError("$.array.meta.size", `${JSON.stringify(meta.size)} is not the element count of shape [${shape.join(", ")}]`);
  const bytes = dataBytes(body, "$.array", buffers);
  const expected = count * size;
  if (bytes.length !== expected)
    throw wireError("$.array.data", `shape [${shape.join(", ")}] of ${dtype} needs ${expected} bytes, got ${bytes.length}`);
  return { tensor: make(bytes.slice().buffer as ArrayBuffer), shape: shape as number[], dtype }; // own, aligned buffer for any dtype
}

function decodeAudio(value: Record<string, unknown>, buffers?: Uint8Array[]): AudioData {
  const body = field(value, "audio", "$");
  const meta = field(body, "meta", "$.audio");
  const sampleRate = positive(meta, "sample_rate");
  const channels = positive(meta, "channels");
  if (channels > 65535) throw wireError("$.audio.meta.channels", "more than 65535 channels");
  if (meta.dtype !== undefined && meta.dtype !== "float32") throw wireError("$.audio.meta.dtype", "audio data must be float32");
  const bytes = dataBytes(body, "$.audio", buffers);
  if (bytes.length % (4 * channels) !== 0)
    throw wireError("$.audio.data", `${bytes.length} bytes is not a whole number of ${channels}-channel float32 frames`);
  const frames = bytes.length / (4 * channels);
  if (meta.frames !== undefined && meta.frames !== frames)
    throw wireError("$.audio.meta.frames", `says ${JSON.stringify(meta.frames)}, but the data holds ${frames} frames`);
  const out: AudioData = { audio: float32Of(bytes), sampleRate, channels };
  if (typeof meta.timestamp_us === "number" && Number.isInteger(meta.timestamp_us) && meta.timestamp_us >= 0)
    out.timestampUs = meta.timestamp_us;
  if (typeof meta.stream_id === "string") out.streamId = meta.stream_id;
  if (isPlainObject(meta.metadata)) out.metadata = meta.metadata;
  return out;
}

/**
 * Converts one wire item into the JS value users get; `buffers` resolves `{"$buffer": n}`
 * payloads. Follows the same rules as the Rust codec (the conformance vectors in
 * `test-vectors/wire.json` hold both to them). Throws InputError naming the JSON path of a
 * malformed envelope (`$.audio.meta.sample_rate: expected a whole number > 0`).
 */
export function fromWire(value: unknown, buffers?: Uint8Array[]): OutputItem {
  if (!isPlainObject(value)) return value;
  const marker = MARKERS.find((m) => m in value);
  if (!marker) return value;
  if (value[marker] !== true) throw wireError(`$.${marker}`, "envelope marker must be true");
  switch (marker) {
    case "__json__":
      if (!("value" in value)) throw wireError("$.value", "missing");
      return value.value;
    case "__binary__":
      return dataBytes(field(value, "binary", "$"), "$.binary", buffers);
    case "__numpy__":
      return decodeTensor(value, buffers);
    default:
      return decodeAudio(value, buffers);
  }
}
