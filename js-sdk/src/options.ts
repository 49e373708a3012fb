/**
 * The options of {@link RemoteMedia.create} and {@link RemoteMedia.run}, their defaults
 * and the checks that give a wrong one a typed error before anything starts.
 */
import { InputError, RemoteMediaError } from "./errors.js";
import type { ExecutorLimits, ProgressReport } from "./protocol/executor.js";
import type { Capabilities } from "./types.js";

/** A start-up step, for progress bars: `stage` names it, `elapsedMs` since the step began. */
export interface ProgressEvent {
  /** `"compiling WebAssembly"`, `"starting executor workers"`, `"loading Pyodide"`, ... */
  stage: string;
  /** Which part is starting: the executor pool or Python. */
  component: "executor" | "python";
  /** Milliseconds since that part began starting. */
  elapsedMs: number;
  /**
   * Where Python stands after this step (Python's events only): `starting` until its
   * first interpreter is ready, then `ready`; `failed` if it could not start. The same
   * value as `capabilities().python`.
   */
  python?: Capabilities["python"];
}

/** Options of {@link RemoteMedia.create}. */
export interface CreateOptions {
  /** Executor workers; default `min(hardwareConcurrency - 1, 4)`, at least 1. */
  workers?: number;
  /** `true` starts Pyodide now; `false` never; default `"auto"`: when a manifest needs it. */
  python?: boolean | "auto";
  /** Start-up progress (WebAssembly compile, workers, Pyodide). */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Where the runtime's files are, when you host them yourself (a CDN, or a folder that
   * `npx remotemedia-web copy-assets DIR` filled): a URL, relative ones taken against the
   * page. Default: where your bundler emitted them (or the package's `dist/` folder).
   */
  assetsURL?: string | URL;
  /**
   * A full Pyodide distribution of the same version (its `pyodide.asm.wasm`,
   * `python_stdlib.zip`, `pyodide-lock.json` and packages such as numpy), instead of the
   * core files shipped in this package. Needed only for `python.packages`.
   */
  indexURL?: string;
  /**
   * How float32 and binary payloads cross to the workers: `"transfer"` (default) sends
   * them as transferred ArrayBuffers next to the JSON, `"base64"` inside the JSON
   * (the portable wire form). Runs with `decode: false` always use base64.
   */
  transport?: "transfer" | "base64";
  /**
   * Start Pyodide from a memory snapshot saved by an earlier start (in the Cache API,
   * per build); default true. The first start saves one (about 30 MB).
   */
  pythonSnapshot?: boolean;
  /**
   * `false` refuses manifests with inline Python (`python.modules`): ManifestError at
   * `$.python.modules`. Built-in Python nodes still run. Default true. For manifests
   * you did not write (docs/architecture.md, "Trust").
   */
  pythonModules?: boolean;
  /**
   * `false` removes the network from Python's reach: `fetch`, `XMLHttpRequest`,
   * `WebSocket`, `EventSource`, `WebTransport`, `importScripts`, nested workers and
   * `BroadcastChannel` are deleted from the Python worker's scope, JavaScript code
   * evaluation is removed there (`eval`, function constructors, code-string timers, so
   * `import()` cannot be reached), and `python.packages` fail the run. Default true.
   */
  pythonNetwork?: boolean;
  /**
   * How many Python interpreters may run at once (1 to 64; default 4). Each manifest's
   * inline Python (`python.modules`, by content) runs in an interpreter of its own, in a
   * worker of its own, so manifests cannot change each other's Python; manifests
   * without inline Python share one. Over the limit, the least recently used
   * interpreter that holds no node instance is stopped (its module state is lost); if
   * each holds some (open sessions), the run fails with a NodeError saying so. Each
   * interpreter's memory and start time are in bench/results/python.md.
   */
  pythonInterpreters?: number;
  /**
   * How long the Python worker's script (and each interpreter's) may take to load, and
   * Python's downloads (Pyodide, its standard library, the remotemedia package) may go
   * without a byte, before the load is made once more under another URL (ms, default
   * 30000): a browser can stall a load without an error. A script's second load is
   * waited for without a bound; a download that stalls twice fails with AssetError.
   * Raise it where 30 s is not enough to load a 1.2 MB script.
   */
  pythonLoadStallMs?: number;
  /**
   * The `timeoutMs` of runs that give none (milliseconds): with it, no run of this
   * instance waits forever (a Python node that never returns, for example). Default:
   * none, as long recordings may take long.
   */
  defaultTimeoutMs?: number;
  /**
   * Sizes manifests and inputs may ask for (chunk sizes, decoded samples, spectrogram
   * bins): over them a run fails with a clear error instead of exhausting a worker's
   * memory. Raise them for long recordings, lower them for untrusted input. Default
   * `{ maxFrames: 2 ** 24, maxOutputValues: 2 ** 27 }`; a value out of range rejects
   * `create` with a RemoteMediaError naming it.
   */
  limits?: ExecutorLimits;
  /**
   * Bearer token for servers that run a manifest's remote nodes (a node's `host`, or a
   * `RemotePipelineNode` without its own `auth_token`). Sent as the `token` query
   * parameter of the server's WebSocket (`/ws`), as browsers cannot set headers there.
   */
  remoteToken?: string;
}

/** Options of {@link RemoteMedia.run}. */
export interface RunOptions {
  /** Aborts the run (rejects with AbortError), also while it waits for Python's start. */
  signal?: AbortSignal;
  /**
   * Rejects with TimeoutError after this many milliseconds from the call, the wait for
   * Python's start included (the start goes on for later runs; the error names its stage).
   */
  timeoutMs?: number;
  /** `false` keeps outputs in wire form (JSON envelopes), as the CLIs print them. Default true. */
  decode?: boolean;
  /**
   * Move the inputs' ArrayBuffers to the worker instead of copying them (the "transfer"
   * transport only): faster for large audio, but the caller's typed arrays are detached
   * (length 0) once `run` is called. Default false.
   */
  transferInputs?: boolean;
  /**
   * Progress of this run: Python starting (`stage: "python"`, with the start-up's own
   * event) when the run waits for it, then the runtime's reports while it runs (`stage:
   * "running"`): each node's items so far and each decoder's bytes and fraction of its
   * file, at most every 100 ms, the last with `done: true`. A throwing callback does not
   * affect the run.
   */
  onProgress?: (event: RunProgress) => void;
}

/** A progress event of one run ({@link RunOptions.onProgress}). */
export type RunProgress = { stage: "python"; python: ProgressEvent } | ({ stage: "running" } & ProgressReport);

/** Python interpreters at once: by default, and at most. */
export const DEFAULT_PYTHON_INTERPRETERS = 4;
export const MAX_PYTHON_INTERPRETERS = 64;

/** Executor workers when `workers` is not given: one core is left to the page, 4 at most. */
export function defaultWorkerCount(): number {
  const cores = typeof navigator !== "undefined" ? navigator.hardwareConcurrency || 2 : 2;
  return Math.min(cores - 1, 4);
}

function isMilliseconds(value: unknown): boolean {
  return typeof value === "number" && value >= 0 && !Number.isNaN(value);
}

/**
 * Throws RemoteMediaError naming the first option of {@link CreateOptions} that cannot
 * be used (`defaultTimeoutMs`, `pythonLoadStallMs`, `pythonInterpreters`, the shape of
 * `limits`; the ranges of `limits` are the runtime's to check).
 */
export function checkCreateOptions(options: CreateOptions): void {
  const { defaultTimeoutMs, pythonInterpreters, pythonLoadStallMs, limits } = options;
  for (const [name, value] of Object.entries({ defaultTimeoutMs, pythonLoadStallMs })) {
    if (value !== undefined && !isMilliseconds(value)) {
      throw new RemoteMediaError(`options.${name} must be a number of milliseconds >= 0, got ${String(value)}`);
    }
  }
  if (
    pythonInterpreters !== undefined &&
    !(Number.isInteger(pythonInterpreters) && pythonInterpreters >= 1 && pythonInterpreters <= MAX_PYTHON_INTERPRETERS)
  ) {
    throw new RemoteMediaError(
      `options.pythonInterpreters must be a whole number from 1 to ${MAX_PYTHON_INTERPRETERS}, got ${String(pythonInterpreters)}`,
    );
  }
  // This keeps values a worker message cannot carry from reaching postMessage.
  if (
    limits !== undefined &&
    (typeof limits !== "object" || limits === null || Object.values(limits).some((v) => v !== undefined && typeof v !== "number"))
  ) {
    throw new RemoteMediaError(`options.limits must be an object {maxFrames?, maxOutputValues?} of whole numbers, got ${String(limits)}`);
  }
}

/** Typed errors for `run` arguments of the wrong kind, before anything is sent. */
export function checkRunArguments(inputs: unknown, options: unknown): void {
  if (!Array.isArray(inputs)) throw new InputError(`inputs must be an array of items, got ${typeof inputs}`);
  if (typeof options !== "object" || options === null) throw new RemoteMediaError("options must be an object");
  const { signal, timeoutMs, onProgress } = options as RunOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new RemoteMediaError("options.signal must be an AbortSignal");
  if (onProgress !== undefined && typeof onProgress !== "function") throw new RemoteMediaError("options.onProgress must be a function");
  if (timeoutMs !== undefined && !isMilliseconds(timeoutMs)) {
    throw new RemoteMediaError(`options.timeoutMs must be a number of milliseconds >= 0, got ${String(timeoutMs)}`);
  }
}
