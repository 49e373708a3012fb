/** The shapes the SDK hands back: manifests, packages, validation reports, results, capabilities. */
import type { Problem } from "./errors.js";
import type { PythonStartup } from "./protocol/python.js";
import type { OutputItem } from "./wire.js";

/**
 * A pipeline manifest (`docs/manifest.md`): an object, its JSON text, or the bytes of an
 * `.rmpkg` package (the original SDK's zip of `manifest.json` and its files).
 */
export type Manifest = Record<string, unknown> | string | Uint8Array | ArrayBuffer;

/** What an `.rmpkg` package holds ({@link RemoteMedia.readPackage}). */
export interface PackageContents {
  /** `manifest.json`, with the package's `deps/**.py` files added to `python.modules`. */
  manifest: Record<string, unknown>;
  /** `metadata.json`, if the package has one. */
  metadata: unknown;
  /** Every file: its path in the zip and its decompressed size in bytes. */
  files: { name: string; size: number }[];
  /** What was ignored or overridden (the original's `runtime.wasm`, a module the manifest also defines). */
  warnings: Problem[];
}

/** Per-node counters (time in ms). */
export interface NodeMetrics {
  items_in: number;
  items_out: number;
  time_ms: number;
}

/** The result of a batch run (`docs/execution.md`). */
export interface RunResult<T = OutputItem> {
  status: "success";
  /** Every sink item in order. */
  outputs: T[];
  /**
   * Sink id -> its items: the same objects as in `outputs`, not copies. (In the
   * runtime's JSON, as the CLIs print it, these are indices into `outputs`.)
   */
  outputs_by_node: Record<string, T[]>;
  graph_info: { node_count: number; source_count: number; sink_count: number; execution_order: string[] };
  metrics: { total_ms: number; nodes: Record<string, NodeMetrics> };
  /** Index of the executor worker that ran it (SDK addition, for diagnostics). */
  worker: number;
  /**
   * The items sink `sink` produced, in order (`outputs_by_node[sink]`), typed as `U`
   * (for example `result.output<AudioData>("vad")`; check with `isAudio` when unsure).
   * Throws RemoteMediaError naming the sinks when `sink` is not one. Not enumerable:
   * `JSON.stringify(result)` is the runtime's JSON.
   */
  output<U = T>(sink: string): U[];
}

/** `{ valid, errors, warnings, python_nodes, python_packages, models, remote_nodes }`, each problem with a JSON path. */
export interface ValidationReport {
  valid: boolean;
  errors: Problem[];
  warnings: Problem[];
  /** Ids of the nodes that run in Python (valid manifests): the SDK starts Python for these. */
  python_nodes: string[];
  /** Python packages the manifest asks for (`python.packages`). */
  python_packages: string[];
  /**
   * Model files its nodes need (`silero_vad_v6.onnx` for `SileroVADNode`): the SDK fetches
   * each once, on the first run that needs it, and gives it to the executor workers.
   */
  models: string[];
  /**
   * The nodes that run on a server (a node's `host`, or a `RemotePipelineNode`), in
   * manifest order: the server checks their types and parameters (docs/remote.md).
   */
  remote_nodes: { node_id: string; server: string }[];
}

/** What the browser offers and what the SDK uses. */
export interface Capabilities {
  crossOriginIsolated: boolean;
  sharedArrayBuffer: boolean;
  moduleWorkers: boolean;
  wasmSimd: boolean;
  workers: number;
  /** How float32 and binary payloads cross to the workers. */
  transport: "transfer" | "base64";
  python: "off" | "not started" | "starting" | "ready" | "failed";
  /** Where the Python worker's start-up went, once it is ready. */
  pythonStartup?: PythonStartup;
  /** Times the Python worker was replaced (a Python run timed out or was aborted and could not be interrupted, or the worker died). */
  pythonRestarts: number;
  /**
   * Whether Python runs that time out or are aborted are interrupted in place (Pyodide's
   * interrupt buffer: needs a cross-origin isolated page) rather than by replacing the
   * Python worker. Known once Python is ready.
   */
  pythonInterrupt: boolean;
  /** Times Python code of a cancelled run was stopped by an interrupt (no restart). */
  pythonInterrupts: number;
  /** Python interpreters running now (one per manifest with inline Python, see `pythonInterpreters`). */
  pythonInterpreters: number;
  /** Milliseconds `RemoteMedia.create` took (compile, workers, instantiation). */
  executorStartMs: number;
}

/** One output of a session: which sink produced it, and the item. */
export interface SessionOutput {
  nodeId: string;
  data: OutputItem;
}
