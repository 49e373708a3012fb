/**
 * The executor channel: main thread <-> executor worker. Messages are plain
 * structured-clone data: manifests, items (in the wire form of docs/wire-format.md) and
 * results travel as objects, which the Rust runtime reads and writes through
 * serde-wasm-bindgen.
 */

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

/** What an executor worker starts with (its `init` message). */
export interface ExecutorInit {
  limits?: ExecutorLimits;
  /** Bearer token for servers running remote nodes (`CreateOptions.remoteToken`). */
  remoteToken?: string;
}

/**
 * Main thread -> executor worker. Manifests are named by ids: `body` goes with the first
 * request that uses an id on a worker, and is left out afterwards; `forget` drops one.
 * `model` gives the worker a model file a manifest needs (its validation report's
 * `models`) before the first request of that manifest.
 */
export type ToExecutor =
  | ({ type: "init"; module: WebAssembly.Module } & ExecutorInit)
  | { type: "python-port"; port: MessagePort }
  | { type: "model"; file: string; bytes: Uint8Array }
  | { type: "run"; id: number; manifest: number; body?: ManifestObject; inputs: unknown[]; buffers?: ArrayBuffer[]; progress?: boolean }
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
  | { type: "progress"; id: number; report: ProgressReport }
  | LiveStep;

/**
 * The runtime's progress report of a run (`run` with `progress: true`), at most every
 * 100 ms of the run and once at its end (`done`): each node's item counts so far, and how
 * far each decoder is through its file (`fraction` of the frames, 0 to 1, when the
 * container gives the length). Names as the runtime's (crates/runtime/src/progress.rs).
 */
export interface ProgressReport {
  nodes: Record<string, { items_in: number; items_out: number }>;
  inputs: { node: string; bytes: number; frames_done: number; frames_total: number | null; fraction: number | null }[];
  done: boolean;
}

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

/** Where a Rust panic happened: the run being computed and the node whose code panicked. */
export interface PanicInfo {
  runId: number | null;
  nodeId: string | null;
  nodeType: string | null;
}
