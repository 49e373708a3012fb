/**
 * Wire protocol between the main thread, the executor workers and the Python
 * worker. Messages are plain structured-clone data: manifests, items (in the wire form
 * of docs/wire-format.md) and results travel as objects, which the Rust runtime reads
 * and writes through serde-wasm-bindgen. Requests to the Python worker are JSON text
 * (Python parses them with its json module).
 */
import type { AssetURLs } from "./assets.js";

/**
 * Sizes input may ask for, per {@link RemoteMedia} instance (the Rust executor's
 * `Limits`, crates/runtime/src/limits.rs). Whole numbers; either left out keeps its default.
 */
export interface ExecutorLimits {
  /** Largest chunk size or hop a node's params may ask for (`AudioChunkerNode.chunk_size`, `MelSpectrogramNode.hop_length`), in frames: 1 to 2^30; default 2^24 (16777216). */
  maxFrames?: number;
  /**
   * Largest number of float32 values one node may make from one item when the input
   * decides it (a decoded audio file: samples of all channels; a mel spectrogram: bins):
   * 1 to 2^29 (2 GiB); default 2^27 (134217728, 512 MiB). Over it, the run fails with a
   * NodeError instead of exhausting the worker's memory.
   */
  maxOutputValues?: number;
}

/**
 * Main thread -> executor worker. Manifests are named by ids: `body` goes with the first
 * request that uses an id on a worker, and is left out afterwards; `forget` drops one.
 * `model` gives the worker a model file a manifest needs (its validation report's
 * `models`) before the first request of that manifest.
 */
export type ToExecutor =
  | { type: "init"; module: WebAssembly.Module; limits?: ExecutorLimits }
  | { type: "python-port"; port: MessagePort }
  | { type: "model"; file: string; bytes: Uint8Array }
  | { type: "run"; id: number; manifest: number; body?: ManifestObject; inputs: unknown[]; buffers?: ArrayBuffer[] }
  | { type: "open"; id: number; manifest: number; body?: ManifestObject }
  | { type: "forget"; manifest: number }
  | { type: "drop"; session: number }
  | { type: "push"; id: number; session: number; item: unknown }
  | { type: "close"; id: number; session: number }
  | { type: "cancel"; id: number }
  | { type: "listen"; id: number; session: number; port: MessagePort }
  | { type: "configure"; id: number; session: number; node: string; params: Record<string, unknown> };

/** A manifest as an object (what `JSON.parse` gives for manifest text). */
export type ManifestObject = Record<string, unknown>;

/**
 * The runtime's answer to a request: `{status: "success", ...}` or
 * `{status: "error", error: {kind, message, ...}}` (docs/execution.md).
 */
export type RuntimeAnswer = Record<string, unknown> & { status?: unknown; error?: unknown };

/**
 * Executor worker -> main thread. `result` is the runtime's answer. With the
 * "transfer" transport, envelopes' `data` fields are `{"$buffer": n}` references into
 * `buffers` (transferred, not copied), in both directions. A `fatal` message without
 * an id (a panic, a malformed message) means the worker must be replaced.
 */
export type FromExecutor =
  | { type: "ready" }
  | { type: "answer"; id: number; result: RuntimeAnswer; buffers?: Uint8Array[] }
  | { type: "fatal"; id?: number; message: string; panic?: PanicInfo }
  | LiveStep;

/**
 * Executor worker -> main thread: what one step of a live session produced. `window`
 * is the span of captured frames (at `rate` Hz) pushed in this step; `capturedAt` the
 * time its last chunk reached the worker (ms since the epoch: `performance.timeOrigin +
 * performance.now()`, comparable across threads); `stats` counts frames received and
 * frames missing or repeated in the chunk sequence so far. `closed` marks the last step
 * (the session was flushed and closed).
 */
export interface LiveStep {
  type: "live";
  session: number;
  result: RuntimeAnswer;
  buffers: Uint8Array[];
  window: { start: number; end: number; rate: number };
  capturedAt: number;
  stats: { received: number; gaps: number; repeats: number };
  closed: boolean;
}

/** Capture worklet -> executor worker: `samples` (mono) are frames `start..start+length` of the stream. */
export interface CaptureChunk {
  type: "audio";
  start: number;
  samples: Float32Array;
  sampleRate: number;
}

/** Capture worklet -> executor worker: capture stopped after `frames` frames. */
export interface CaptureEnd {
  type: "end";
  frames: number;
}

/** Main thread -> capture worklet, on the node's port. */
export type CaptureControl = { type: "connect"; port: MessagePort } | { type: "pause" } | { type: "resume" } | { type: "stop" };

/** Where a Rust panic happened: the run being computed and the node whose code panicked. */
export interface PanicInfo {
  runId: number | null;
  nodeId: string | null;
  nodeType: string | null;
}

/**
 * Main thread -> Python worker: the one message on the worker itself. The Python worker
 * is a host: it runs no Python itself but starts interpreters (nested workers, see
 * {@link ToInterpreter}), one per interpreter scope, at most `maxInterpreters` at once,
 * and routes each request to its scope's interpreter. `control` is the private channel
 * to the page for everything after this message. `assets` are the runtime files' URLs
 * as the page's bundler emitted them; `indexURL`, when set, is a full Pyodide
 * distribution to use instead of the shipped core; `snapshotCache` names the Cache API
 * cache for memory snapshots (this build's), or null for none; `network` false removes
 * the network APIs from Python's reach; `interrupts` (cross-origin isolated pages) is
 * the shared interrupt memory, laid out as below.
 */
export type ToPython = {
  type: "init";
  control: MessagePort;
  assets: AssetURLs;
  indexURL?: string;
  snapshotCache: string | null;
  network: boolean;
  interrupts?: SharedArrayBuffer;
  maxInterpreters: number;
};

/**
 * Main thread -> Python worker over `control`: `connect` hands over a channel to one
 * executor worker (`connection` names it); `disconnect` says that executor worker is
 * gone, so the node instances it made and never released are released.
 */
export type ToPythonControl = { type: "connect"; port: MessagePort; connection: number } | { type: "disconnect"; connection: number };

/**
 * Python worker (host) -> one interpreter (a nested worker running Pyodide): the one
 * message on the interpreter's worker. `control` is its private channel to the host
 * (the interpreter's own `postMessage` is removed once Python can run, so manifest code
 * cannot post anywhere); the other fields are the page's, as in {@link ToPython}.
 */
export type ToInterpreter = Omit<ToPython, "type" | "maxInterpreters"> & { type: "interpreter" };

/**
 * Host -> interpreter over `control`: `connect` hands over the port requests come on
 * ({@link PythonRequest}, without `scope`); `live` asks how many node instances the
 * interpreter holds (an interpreter holding none may be stopped to make room).
 */
export type ToInterpreterControl = { type: "connect"; port: MessagePort } | { type: "live" };

/** Interpreter -> host over `control`: what the host tells the page, and `live` answers. */
export type FromInterpreter = FromPython | { type: "live"; count: number };

/**
 * The interrupt memory (Int32 slots): Pyodide's interrupt buffer (the page writes 2,
 * SIGINT), the run Python is serving now (0: none), then a ring of the last cancelled
 * runs, whose next slot `CANCELLED_NEXT` says.
 */
export const INTERRUPT_SLOT = 0;
export const RUNNING_SLOT = 1;
export const CANCELLED_NEXT = 2;
export const CANCELLED_FIRST = 3;
export const CANCELLED_RING = 64;
export const INTERRUPT_SLOTS = CANCELLED_FIRST + CANCELLED_RING;

/** Python worker -> main thread, over `control`. */
export type FromPython =
  | { type: "progress"; stage: string; elapsedMs: number }
  | { type: "ready"; startMs: number; breakdown: PythonStartup; interrupts: boolean; network: boolean }
  /** How many interpreters run now (sent when it changes). */
  | { type: "interpreters"; count: number }
  | { type: "fatal"; message: string; asset?: { url: string; status?: number; contentType?: string } };

/**
 * Where the Python worker's start-up went, in ms: `fetchMs` the span of Pyodide's
 * downloads (or cache hits), `loadPyodideMs` all of loadPyodide (fetch, compile,
 * instantiate, stdlib unpack), `installMs` writing the remotemedia package into
 * Pyodide's file system, `importMs` importing it, `totalMs` worker start to ready.
 */
export interface PythonStartup {
  /** `loaded`: started from a cached memory snapshot; `made`: a snapshot was saved for next time. */
  snapshot: "loaded" | "made" | "off" | "failed";
  fetchMs: number;
  loadPyodideMs: number;
  installMs: number;
  importMs: number;
  totalMs: number;
}

/**
 * Executor worker -> Python worker, over a MessageChannel (no main-thread hop): a node
 * request (JSON text), or the packages a manifest needs, loaded before its nodes are
 * created. `run` is the page's id of the run a request serves (none for releases);
 * `scope` names the interpreter (the SHA-256 of the manifest's `python.modules`; none
 * for manifests without). The Rust runtime posts these itself
 * (crates/worker/src/python.rs).
 */
export type PythonRequest =
  | { id: number; request: string; op: string; instance?: number; run?: number; scope?: string }
  | { id: number; packages: string[]; scope?: string };

/**
 * Answer to a {@link PythonRequest} with the same id: the bridge's answer as JSON text,
 * and, for a `create` that made a node instance, its number (`created`, from the bridge
 * itself: the host tracks instances by it, never by reading `response`).
 */
export interface PythonResponse {
  id: number;
  response: string;
  created?: number;
}
