/**
 * @remotemedia/web: run RemoteMedia pipelines in the browser, off the main thread.
 *
 * ```ts
 * const rm = await RemoteMedia.create({ workers: 2, onProgress: (e) => console.log(e.stage) });
 * const result = await rm.run(manifest, [fileBytes], { timeoutMs: 10_000 });
 * await rm.terminate();
 * ```
 */
import init, { checkLimits, readPackage, validateManifest } from "../wasm/remotemedia_worker.js";
import { ASSET_FILES, assetURLs, fetchAsset, resolveBase, spawnWorker } from "./assets.js";
import type { AssetName, AssetURLs } from "./assets.js";
import {
  AbortError,
  AssetError,
  CaptureError,
  errorFromJson,
  InputError,
  ManifestError,
  NodeError,
  RemoteMediaError,
  SessionClosedError,
  TimeoutError,
  UnsupportedEnvironmentError,
  WorkerCrashedError,
} from "./errors.js";
import type { Problem } from "./errors.js";
import { BUILD } from "./build-info.js";
import { ExecutorWorker } from "./pool.js";
import type { Answer } from "./pool.js";
import { CANCELLED_FIRST, CANCELLED_NEXT, CANCELLED_RING, INTERRUPT_SLOT, INTERRUPT_SLOTS, RUNNING_SLOT } from "./protocol.js";
import type {
  ExecutorLimits,
  FromPython,
  ManifestObject,
  PythonStartup,
  RuntimeAnswer,
  ToExecutor,
  ToPython,
  ToPythonControl,
} from "./protocol.js";
export type { ExecutorLimits, PythonStartup } from "./protocol.js";
import { fromWire, toWire } from "./wire.js";
import { isBlob, readBlob, readBlobs } from "./blob.js";
import { addCaptureModule, Listener, openMicrophone } from "./live.js";
import type { ListenOptions } from "./live.js";
import type { InputItem, OutputItem } from "./wire.js";

export * from "./errors.js";
export { registerServiceWorker, cacheStatus, clearCache } from "./service-worker.js";
export type { RegisterOptions, CacheInfo, ServiceWorkerEvent } from "./service-worker.js";
export { BUILD } from "./build-info.js";
export { ASSET_FILES } from "./assets.js";
export type { AssetName, AssetURLs } from "./assets.js";
export { fromWire, toWire, float32ToBase64, base64ToFloat32 } from "./wire.js";
export { Listener } from "./live.js";
export type { ListenOptions, LiveEvent, ListenerStats } from "./live.js";
export type { AudioData, TensorData, InputItem, OutputItem } from "./wire.js";

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

/** A start-up step, for progress bars: `stage` names it, `elapsedMs` since the step began. */
export interface ProgressEvent {
  /** `"compiling WebAssembly"`, `"starting executor workers"`, `"loading Pyodide"`, ... */
  stage: string;
  /** Which part is starting: the executor pool or Python. */
  component: "executor" | "python";
  /** Milliseconds since that part began starting. */
  elapsedMs: number;
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
   * interpreter takes about 110 MB and 0.6 s to start from the memory snapshot.
   */
  pythonInterpreters?: number;
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
}

/** Options of {@link RemoteMedia.run}. */
export interface RunOptions {
  /** Aborts the run (rejects with AbortError). */
  signal?: AbortSignal;
  /** Rejects with TimeoutError after this many milliseconds. */
  timeoutMs?: number;
  /** `false` keeps outputs in wire form (JSON envelopes), as the CLIs print them. Default true. */
  decode?: boolean;
  /**
   * Move the inputs' ArrayBuffers to the worker instead of copying them (the "transfer"
   * transport only): faster for large audio, but the caller's typed arrays are detached
   * (length 0) once `run` is called. Default false.
   */
  transferInputs?: boolean;
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
}

/** `{ valid, errors, warnings, python_nodes, python_packages, models }`, each problem with a JSON path. */
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

/**
 * Compiles the runtime once. The bytes are checked first (an HTML fallback page served
 * with status 200 is a common misconfiguration), so a failure names the URL and what
 * came back, as an AssetError.
 */
async function compileRuntime(url: string): Promise<WebAssembly.Module> {
  const bytes = await fetchAsset(url, "wasm");
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new AssetError(`${url}: the WebAssembly does not compile: ${String((err as Error)?.message ?? err)}`, url);
  }
}

/** Why the SDK cannot start here, or null in a browser (or worker) with Web Workers and WebAssembly. */
function unsupportedReason(): string | null {
  if (typeof Worker !== "function") return "Web Workers are not available here";
  if (typeof WebAssembly !== "object") return "WebAssembly is not available here";
  if (typeof fetch !== "function") return "fetch is not available here";
  return null;
}

/**
 * Whether the browser starts module workers (`new Worker(url, { type: "module" })`):
 * it reads the `type` option only if it knows it. The data: URL never loads. Checked once.
 */
let moduleWorkerSupport: boolean | undefined;
function moduleWorkers(): boolean {
  moduleWorkerSupport ??= detectModuleWorkers();
  return moduleWorkerSupport;
}

function detectModuleWorkers(): boolean {
  let read = false;
  const options = {
    get type(): WorkerType {
      read = true;
      return "module";
    },
  };
  try {
    new Worker("data:text/javascript,", options).terminate();
  } catch {
    // a content security policy may refuse the URL: the option was read first
  }
  return read;
}

function wasmSimd(): boolean {
  // (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
  const bytes = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
  ]);
  return WebAssembly.validate(bytes);
}

/** The SDK: a pool of executor workers and, on demand, the Python worker. */
export class RemoteMedia {
  private workers: ExecutorWorker[] = [];
  private module: Promise<WebAssembly.Module>;
  private nextId = 1;
  private nextManifestId = 1;
  private manifests = new Map<string, PreparedManifest>();
  /** Model files fetched (or being fetched), by file name: each once per instance. */
  private modelFiles = new Map<string, Promise<Uint8Array>>();
  private options: CreateOptions;
  private python: Worker | null = null;
  private pythonState: Capabilities["python"];
  private pythonReady: Promise<void> | null = null;
  private pythonRestarts = 0;
  private pythonInterrupts = 0;
  private pythonInterpreterCount = 0;
  /** Each executor worker's channel to the Python worker, by number (see ToPythonControl). */
  private pythonConnections = 0;
  private pythonConnectionOf = new WeakMap<ExecutorWorker, number>();
  /** The private channel to the Python worker (`FromPython` / `ToPythonControl`). */
  private pythonControl: MessagePort | null = null;
  /** Interrupt memory shared with the Python worker (cross-origin isolated pages). */
  private interrupts: Int32Array | null = null;
  private pythonInterruptReady = false;
  private terminated = false;
  private pythonStartup: PythonStartup | undefined;
  private executorStartMs = 0;
  private assets: AssetURLs;

  private constructor(module: Promise<WebAssembly.Module>, options: CreateOptions, assets: AssetURLs) {
    this.module = module;
    this.options = options;
    this.assets = assets;
    this.pythonState = options.python === false ? "off" : "not started";
  }

  /**
   * Compiles the WebAssembly runtime once, starts the executor pool, and (with
   * `python: true`) Pyodide. Rejects with UnsupportedEnvironmentError outside a browser
   * (server-side rendering: call it in an effect), AssetError when a runtime file cannot
   * be fetched or is not what it should be, and WorkerCrashedError if a worker cannot start.
   */
  static async create(options: CreateOptions = {}): Promise<RemoteMedia> {
    const unsupported = unsupportedReason();
    if (unsupported) {
      throw new UnsupportedEnvironmentError(
        `RemoteMedia.create() needs a browser: ${unsupported} (on a server, create it on the client, e.g. in useEffect or onMounted)`,
      );
    }
    const { defaultTimeoutMs } = options;
    if (
      defaultTimeoutMs !== undefined &&
      !(typeof defaultTimeoutMs === "number" && defaultTimeoutMs >= 0 && !Number.isNaN(defaultTimeoutMs))
    ) {
      throw new RemoteMediaError(`options.defaultTimeoutMs must be a number of milliseconds >= 0, got ${String(defaultTimeoutMs)}`);
    }
    const { pythonInterpreters } = options;
    if (
      pythonInterpreters !== undefined &&
      !(Number.isInteger(pythonInterpreters) && pythonInterpreters >= 1 && pythonInterpreters <= MAX_PYTHON_INTERPRETERS)
    ) {
      throw new RemoteMediaError(
        `options.pythonInterpreters must be a whole number from 1 to ${MAX_PYTHON_INTERPRETERS}, got ${String(pythonInterpreters)}`,
      );
    }
    const { limits } = options;
    // Ranges and names are checked by the runtime (checkLimits, below); this keeps values
    // a worker message cannot carry from reaching postMessage.
    if (
      limits !== undefined &&
      (typeof limits !== "object" || limits === null || Object.values(limits).some((v) => v !== undefined && typeof v !== "number"))
    ) {
      throw new RemoteMediaError(`options.limits must be an object {maxFrames?, maxOutputValues?} of whole numbers, got ${String(limits)}`);
    }
    const t0 = performance.now();
    const report = (stage: string, component: ProgressEvent["component"] = "executor") =>
      options.onProgress?.({ stage, component, elapsedMs: performance.now() - t0 });
    const base = options.assetsURL === undefined ? undefined : resolveBase(options.assetsURL);
    const assets = assetURLs(base);
    report("compiling WebAssembly");
    const module = compileRuntime(assets.executorWasm);
    module.catch(() => {}); // handled below, via init(); never left unhandled
    const rm = new RemoteMedia(module, options, assets);
    const cores = typeof navigator !== "undefined" ? navigator.hardwareConcurrency || 2 : 2;
    const count = Math.max(1, options.workers ?? Math.min(cores - 1, 4));
    report(`starting ${count} executor worker(s)`);
    try {
      // Workers load their scripts while the module compiles; each gets it when ready.
      for (let i = 0; i < count; i++) rm.workers.push(rm.spawn(i));
      await init({ module_or_path: await module }); // main-thread instance: synchronous validate()
      const badLimits = checkLimits(options.limits);
      if (badLimits !== undefined) throw new RemoteMediaError(`options.${badLimits}`);
      await Promise.all(rm.workers.map((w) => w.ready()));
    } catch (err) {
      await rm.terminate();
      throw err;
    }
    rm.executorStartMs = performance.now() - t0;
    report("executor ready");
    if (options.python === true) await rm.startPython();
    return rm;
  }

  private spawn(index: number): ExecutorWorker {
    const worker = new ExecutorWorker(index, this.module, (dead) => this.replace(dead), this.assets.executorWorker, this.options.limits);
    if (this.pythonState === "ready" || this.pythonState === "starting") this.connectPython(worker);
    return worker;
  }

  private replace(dead: ExecutorWorker): void {
    if (this.terminated) return;
    // The Python node instances the dead worker made (open sessions, runs in flight) are released.
    const connection = this.pythonConnectionOf.get(dead);
    if (connection !== undefined) this.pythonControl?.postMessage({ type: "disconnect", connection } satisfies ToPythonControl);
    const at = this.workers.indexOf(dead);
    if (at >= 0) this.workers[at] = this.spawn(dead.index);
  }

  /**
   * Checks a manifest (an object, or JSON text) without running it. Synchronous: the
   * runtime also lives on the main thread. The object is read as JSON data: a value JSON
   * cannot carry (NaN, a function) is a problem at `$`, not silently `null`.
   */
  validate(manifest: Manifest): ValidationReport {
    if (isBytes(manifest)) {
      const read = readPackage(bytesOf(manifest)) as PackageContents | { error: Problem };
      if ("error" in read)
        return { valid: false, errors: [packageProblem(read.error)], warnings: [], python_nodes: [], python_packages: [], models: [] };
      const report = this.validate(read.manifest);
      return { ...report, warnings: [...read.warnings.map((w) => ({ path: `rmpkg:${w.path}`, message: w.message })), ...report.warnings] };
    }
    return typeof manifest === "string"
      ? (validateManifest(manifest, this.options.limits) as ValidationReport)
      : this.validateKeyed(manifest, manifestKey(manifest));
  }

  /**
   * Reads an `.rmpkg` package (a zip of `manifest.json`, an optional `metadata.json`,
   * the original runtime's `runtime.wasm`, which is not used, and `deps/` files, whose
   * `.py` files become `python.modules`). `run`, `open` and `listen` take the bytes
   * directly; this shows what is inside. Throws ManifestError naming the entry when the
   * package cannot be read (not a zip, no `manifest.json`, a damaged entry, a file over
   * 16 MiB decompressed).
   */
  readPackage(bytes: Uint8Array | ArrayBuffer): PackageContents {
    const read = readPackage(bytesOf(bytes)) as PackageContents | { error: Problem };
    if ("error" in read) {
      const problem = packageProblem(read.error);
      throw new ManifestError(`invalid manifest (1 problem(s))\n  ${problem.path}: ${problem.message}`, [problem]);
    }
    return read;
  }

  /**
   * Validation of a manifest whose {@link manifestKey} is `key`. When the key has no
   * marks (nothing JSON cannot carry), it is exactly the manifest's JSON, and reading
   * JSON text in wasm is several times faster than walking a large object across the
   * boundary (10k nodes: about 20 ms instead of 50 here); otherwise the object is read,
   * so the error names what is wrong.
   */
  private validateKeyed(manifest: unknown, key: string): ValidationReport {
    return validateManifest(key.includes(KEY_MARK) ? manifest : key, this.options.limits) as ValidationReport;
  }

  /** Starts Pyodide now (otherwise it starts with the first manifest that needs it). */
  startPython(): Promise<void> {
    if (this.pythonState === "off") return Promise.reject(new RemoteMediaError("Python is disabled (python: false)"));
    if (this.pythonReady) return this.pythonReady;
    const t0 = performance.now();
    this.pythonState = "starting";
    this.options.onProgress?.({ stage: "starting the Python worker", component: "python", elapsedMs: 0 });
    let python: Worker;
    try {
      python = spawnWorker(this.assets.pythonWorker, "remotemedia-python");
    } catch (err) {
      this.pythonState = "failed";
      return Promise.reject(err);
    }
    this.python = python;
    const control = new MessageChannel();
    this.pythonControl = control.port1;
    const g = globalThis as unknown as { crossOriginIsolated?: boolean };
    this.interrupts =
      g.crossOriginIsolated === true && typeof SharedArrayBuffer === "function"
        ? new Int32Array(new SharedArrayBuffer(INTERRUPT_SLOTS * 4))
        : null;
    this.pythonReady = new Promise<void>((resolve, reject) => {
      control.port1.onmessage = (event: MessageEvent<FromPython>) => {
        const m = event.data;
        if (m.type === "progress") this.options.onProgress?.({ stage: m.stage, component: "python", elapsedMs: m.elapsedMs });
        else if (m.type === "interpreters") this.pythonInterpreterCount = m.count;
        else if (m.type === "ready") {
          this.pythonState = "ready";
          this.pythonStartup = m.breakdown;
          this.pythonInterruptReady = m.interrupts;
          this.options.onProgress?.({ stage: "Python ready", component: "python", elapsedMs: performance.now() - t0 });
          resolve();
        } else if (m.type === "fatal") {
          // After start-up, a dead Python worker is replaced; before, the start failed.
          if (this.pythonState === "ready") return this.restartPython(m.message);
          this.pythonState = "failed";
          reject(m.asset ? new AssetError(m.message, m.asset.url, m.asset.status, m.asset.contentType) : new RemoteMediaError(m.message));
        }
      };
      python.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const message = `the Python worker crashed: ${event.message || "script error"}`;
        if (this.pythonState === "ready") return this.restartPython(message);
        this.pythonState = "failed";
        reject(new RemoteMediaError(message));
      };
    });
    const snapshotCache = this.options.pythonSnapshot === false ? null : `remotemedia-web-${BUILD.version}-${BUILD.hash}`;
    const init: ToPython = {
      type: "init",
      control: control.port2,
      assets: this.assets,
      indexURL: this.options.indexURL,
      snapshotCache,
      network: this.options.pythonNetwork !== false,
      interrupts: this.interrupts?.buffer as SharedArrayBuffer | undefined,
      maxInterpreters: this.options.pythonInterpreters ?? DEFAULT_PYTHON_INTERPRETERS,
    };
    python.postMessage(init, [control.port2]);
    for (const w of this.workers) this.connectPython(w);
    return this.pythonReady;
  }

  /**
   * Stops the Python worker and starts a new one at once (from the memory snapshot when
   * there is one). Connecting the new one fails the Python calls still waiting in the
   * executor workers: their runs reject with NodeError; later runs use the new worker.
   * Python state (module globals, node instances) does not survive.
   */
  private restartPython(reason: string): void {
    if (!this.python || this.terminated) return;
    this.python.onerror = null;
    if (this.pythonControl) this.pythonControl.onmessage = null;
    this.pythonControl?.close();
    this.python.terminate();
    this.python = null;
    this.pythonControl = null;
    this.interrupts = null;
    this.pythonInterruptReady = false;
    this.pythonInterpreterCount = 0;
    this.pythonReady = null;
    this.pythonState = "not started";
    this.pythonRestarts++;
    this.options.onProgress?.({ stage: `restarting the Python worker: ${reason}`, component: "python", elapsedMs: 0 });
    this.startPython().catch(() => {}); // a failed start is reported to the next run that needs Python
  }

  /** A MessageChannel between one executor worker and the Python worker. */
  private connectPython(worker: ExecutorWorker): void {
    if (!this.pythonControl) return;
    const channel = new MessageChannel();
    const connection = ++this.pythonConnections;
    this.pythonConnectionOf.set(worker, connection);
    worker.post({ type: "python-port", port: channel.port1 }, [channel.port1]);
    this.pythonControl.postMessage({ type: "connect", port: channel.port2, connection } satisfies ToPythonControl, [channel.port2]);
  }

  /**
   * Stops the Python work of run `run` (timed out or aborted). With interrupts, the run
   * goes on the cancelled list first (its queued Python requests are skipped), then,
   * if Python is serving it now, SIGINT is written: its node code raises
   * `RunCancelled` and Python keeps its state. If that run is still in Python
   * `INTERRUPT_GRACE_MS` later (code that catches everything, or blocks in JS), or
   * without interrupts, the Python worker is replaced.
   */
  private cancelPython(run: number, what: string): void {
    const shared = this.pythonInterruptReady ? this.interrupts : null;
    if (!shared) {
      this.restartPython(what);
      return;
    }
    const next = Atomics.add(shared, CANCELLED_NEXT, 1);
    Atomics.store(shared, CANCELLED_FIRST + (next % CANCELLED_RING), run);
    if (Atomics.load(shared, RUNNING_SLOT) !== run) return; // not started: it will be skipped
    Atomics.store(shared, INTERRUPT_SLOT, 2);
    setTimeout(() => {
      if (this.interrupts !== shared) return; // already replaced
      if (Atomics.load(shared, RUNNING_SLOT) === run) this.restartPython(`${what}, and its Python code did not stop when interrupted`);
      else this.pythonInterrupts++;
    }, INTERRUPT_GRACE_MS);
  }

  /**
   * Parses and validates; starts Python if the manifest needs it. A manifest is
   * validated once per distinct content (kept under an id, 64 at most), so repeated
   * runs of the same manifest skip validation here and in the worker.
   */
  private async prepare(manifest: Manifest): Promise<PreparedManifest> {
    if (this.terminated) throw new RemoteMediaError("this RemoteMedia instance was terminated");
    let parsed: Record<string, unknown>;
    if (isBytes(manifest)) manifest = this.readPackage(manifest).manifest;
    try {
      parsed = typeof manifest === "string" ? (JSON.parse(manifest) as Record<string, unknown>) : manifest;
    } catch (err) {
      throw new ManifestError(`manifest is not valid JSON: ${(err as Error).message}`, [{ path: "$", message: "not valid JSON" }]);
    }
    let key: string;
    try {
      key = manifestKey(parsed);
    } catch (err) {
      // JSON.stringify throws on a cycle.
      throw new ManifestError(`the manifest is not JSON data: ${(err as Error).message}`, [
        { path: "$", message: "not JSON data (a cycle?)" },
      ]);
    }
    let prepared = this.manifests.get(key);
    if (prepared) {
      // Most recently used last: the oldest is the one forgotten.
      this.manifests.delete(key);
      this.manifests.set(key, prepared);
    } else {
      const report = this.validateKeyed(parsed, key);
      if (!report.valid) {
        const lines = report.errors.map((e) => `  ${e.path}: ${e.message}`).join("\n");
        throw new ManifestError(`invalid manifest (${report.errors.length} problem(s))\n${lines}`, report.errors, report.warnings);
      }
      const modules = (parsed.python as { modules?: Record<string, unknown> } | undefined)?.modules;
      if (this.options.pythonModules === false && modules && Object.keys(modules).length > 0) {
        const problem = { path: "$.python.modules", message: "inline Python is refused here (pythonModules: false)" };
        throw new ManifestError(`invalid manifest (1 problem(s))\n  ${problem.path}: ${problem.message}`, [problem], report.warnings);
      }
      // A snapshot: later changes to the caller's object make a new manifest.
      const body = JSON.parse(key) as ManifestObject;
      prepared = {
        id: this.nextManifestId++,
        body,
        needsPython: report.python_nodes.length > 0 || report.python_packages.length > 0,
        models: new Map(),
        modelFiles: report.models ?? [],
        inputData: inputDataOf(body),
      };
      this.manifests.set(key, prepared);
      if (this.manifests.size > MANIFEST_CACHE) this.forgetOldestManifest();
    }
    // The runtime says which model files the nodes need: fetched before the first request.
    for (const file of prepared.modelFiles) {
      if (!prepared.models.has(file)) prepared.models.set(file, await this.modelFile(file));
    }
    // The runtime says which nodes run in Python (and which packages they need).
    if (prepared.needsPython) {
      if (this.pythonState === "off") throw new RemoteMediaError("this manifest has Python nodes but Python is disabled (python: false)");
      await this.startPython();
    }
    return prepared;
  }

  /**
   * A model file's bytes, fetched once per instance (from the package's files, or
   * `assetsURL`). Rejects with AssetError when it cannot be fetched (tried again on the
   * next run) or when this SDK has no such file.
   */
  private modelFile(file: string): Promise<Uint8Array> {
    let bytes = this.modelFiles.get(file);
    if (!bytes) {
      const role = (Object.keys(ASSET_FILES) as AssetName[]).find((r) => ASSET_FILES[r] === file);
      bytes = role
        ? fetchAsset(this.assets[role], "onnx")
        : Promise.reject(new AssetError(`the runtime asks for a model file this SDK does not ship: ${file}`, file));
      this.modelFiles.set(file, bytes);
      bytes.catch(() => this.modelFiles.delete(file));
    }
    return bytes;
  }

  private forgetOldestManifest(): void {
    const [key, oldest] = this.manifests.entries().next().value as [string, PreparedManifest];
    this.manifests.delete(key);
    for (const w of this.workers) {
      if (w.manifests.delete(oldest.id)) w.post({ type: "forget", manifest: oldest.id });
    }
  }

  /** The typed error of an error answer; a manifest the worker refused is not kept there. */
  private failure(worker: ExecutorWorker, prepared: PreparedManifest, answer: RuntimeAnswer): Error {
    const error = answer.error as Record<string, unknown>;
    if (error?.kind === "manifest") worker.manifests.delete(prepared.id);
    return errorFromJson(error);
  }

  /**
   * The manifest fields of a request to `worker`: the body only the first time it sees the
   * id. Model files the manifest needs go first, once per worker (messages keep their order).
   */
  private manifestFields(worker: ExecutorWorker, prepared: PreparedManifest): { manifest: number; body?: ManifestObject } {
    for (const [file, bytes] of prepared.models) {
      if (worker.models.has(file)) continue;
      worker.models.add(file);
      worker.post({ type: "model", file, bytes });
    }
    if (worker.manifests.has(prepared.id)) return { manifest: prepared.id };
    worker.manifests.add(prepared.id);
    return { manifest: prepared.id, body: prepared.body };
  }

  /** The least-loaded worker; RemoteMediaError once terminated (a run racing `terminate()`). */
  private pickWorker(): ExecutorWorker {
    if (this.terminated || this.workers.length === 0) throw new RemoteMediaError("this RemoteMedia instance was terminated");
    return this.workers.reduce((best, w) => (w.load < best.load ? w : best));
  }

  /**
   * Batch run (`docs/execution.md`): every source node receives every input in order, then every
   * node is flushed. A manifest in the original SDK's `{manifest, input_data}` file form
   * runs on its `input_data` when `inputs` is empty. A `Blob` or `File` input (a
   * `MediaRecorder` recording, an uploaded file) is read and sent as binary bytes.
   * Rejects with ManifestError, NodeError, InputError (also for a Blob that cannot be
   * read), AbortError, TimeoutError or WorkerCrashedError; a failed run never breaks
   * the pool.
   */
  async run(manifest: Manifest, inputs: InputItem[] = [], options: RunOptions = {}): Promise<RunResult> {
    checkRunArguments(inputs, options);
    inputs = await readBlobs(inputs);
    if (options.timeoutMs === undefined && this.options.defaultTimeoutMs !== undefined)
      options = { ...options, timeoutMs: this.options.defaultTimeoutMs };
    if (options.signal?.aborted) throw new AbortError(); // never sent
    const prepared = await this.prepare(manifest);
    const transfer = (this.options.transport ?? "transfer") === "transfer" && options.decode !== false;
    const deadline = options.timeoutMs === undefined ? undefined : performance.now() + options.timeoutMs;
    let worker: ExecutorWorker;
    let answer: Answer;
    for (let attempt = 1; ; attempt++) {
      const buffers: ArrayBuffer[] | undefined = transfer ? [] : undefined;
      const wireInputs =
        inputs.length === 0 && prepared.inputData
          ? prepared.inputData
          : inputs.map((item, i) => toWire(item, `inputs[${i}]`, buffers && { buffers, detach: options.transferInputs === true }));
      if (options.signal?.aborted) throw new AbortError(); // aborted while Python started: still never sent
      worker = this.pickWorker();
      const id = this.nextId++;
      const message: ToExecutor = { type: "run", id, ...this.manifestFields(worker, prepared), inputs: wireInputs, buffers };
      const waitMs = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
      try {
        answer = await this.guard(worker, id, worker.request(id, message, buffers ?? []), options, waitMs, prepared.needsPython);
        break;
      } catch (err) {
        // Another run crashed or stopped this worker: try once more on a fresh one (not
        // with transferInputs, whose buffers went with the dead worker).
        const retry = err instanceof WorkerCrashedError && err.innocent && attempt === 1 && options.transferInputs !== true;
        if (!retry) throw err;
      }
    }
    const result = answer.result;
    if (result.status !== "success") {
      const failure = this.failure(worker, prepared, result);
      // WebAssembly memory never shrinks: after a Python MemoryError the Python worker
      // holds what it grew to until it is replaced.
      if (prepared.needsPython && failure instanceof NodeError && /\bMemoryError\b/.test(failure.message))
        this.restartPython("a Python node ran out of memory (MemoryError)");
      throw failure;
    }
    // The runtime carries each item once: `outputs_by_node` holds indices into
    // `outputs`. Here each sink's list refers to the same (decoded) items.
    const raw = result as unknown as Omit<RunResult<unknown>, "outputs_by_node" | "worker"> & { outputs_by_node: Record<string, number[]> };
    const outputs = options.decode === false ? raw.outputs : raw.outputs.map((v) => fromWire(v, answer.buffers));
    const byNode = Object.fromEntries(Object.entries(raw.outputs_by_node).map(([sink, indices]) => [sink, indices.map((i) => outputs[i])]));
    return { ...raw, outputs, outputs_by_node: byNode, worker: worker.index } as RunResult;
  }

  /** Applies abort and timeout to a request. A worker left busy with an abandoned run is replaced. */
  private guard(
    worker: ExecutorWorker,
    id: number,
    request: Promise<Answer>,
    options: RunOptions,
    waitMs: number | undefined,
    usesPython: boolean,
  ): Promise<Answer> {
    const { signal, timeoutMs } = options;
    if (!signal && waitMs === undefined) return request;
    return new Promise<Answer>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stop = (err: Error) => {
        cleanup();
        worker.post({ type: "cancel", id } satisfies ToExecutor);
        worker.forget(id);
        const what = `run ${id} ${err instanceof TimeoutError ? "timed out" : "was aborted"}`;
        if (usesPython) {
          // Interrupted in place when the page is cross-origin isolated; otherwise the
          // Python worker is replaced (Python calls of other runs in flight fail with NodeError).
          this.cancelPython(id, what);
        } else {
          // Rust code computes without yielding and cannot see the cancel flag: the
          // worker is replaced rather than left computing. Other runs on it are retried
          // on a fresh worker; sessions open on it are lost (WorkerCrashedError).
          worker.terminate(`executor worker ${worker.index} was replaced: ${what} while it computed`, true);
          this.replace(worker);
        }
        reject(err);
      };
      const onAbort = () => stop(new AbortError());
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      if (waitMs !== undefined) timer = setTimeout(() => stop(new TimeoutError(timeoutMs ?? waitMs)), waitMs);
      request.then(
        (v) => {
          cleanup();
          resolve(v);
        },
        (e: unknown) => {
          cleanup();
          reject(e);
        },
      );
    });
  }

  /** Opens a streaming session: node state lives across `push` calls until `close`. */
  async open(manifest: Manifest): Promise<Session> {
    const prepared = await this.prepare(manifest);
    const worker = this.pickWorker();
    const id = this.nextId++;
    const answer = (await worker.request(id, { type: "open", id, ...this.manifestFields(worker, prepared) })).result;
    if (answer.status !== "success") throw this.failure(worker, prepared, answer);
    return new Session(worker, Number(answer.session), () => this.nextId++);
  }

  /**
   * Live audio: captures the microphone (or `options.stream` / `options.source`) in an
   * AudioWorklet and feeds a streaming session of `manifest`, whose source nodes
   * receive mono float32 audio at the AudioContext's sample rate (resample it in the
   * manifest, e.g. `FastResampleNode` to 16 kHz before a VAD). Audio goes from the
   * worklet to the executor worker directly; outputs arrive as {@link LiveEvent}s.
   *
   * Rejects with ManifestError, CaptureError (microphone refused or missing, no
   * AudioWorklet), UnsupportedEnvironmentError outside a browser, or the session's
   * error. Whatever it opened is released when it rejects.
   */
  async listen(manifest: Manifest, options: ListenOptions = {}): Promise<Listener> {
    if (typeof AudioWorkletNode !== "function" || typeof AudioContext !== "function") {
      throw new UnsupportedEnvironmentError("listen() needs the Web Audio API with AudioWorklet (a browser page, over https or localhost)");
    }
    const prepared = await this.prepare(manifest);
    const context =
      (options.source?.context as AudioContext | undefined) ?? options.audioContext ?? new AudioContext({ latencyHint: "interactive" });
    const ownsContext = !options.source && !options.audioContext;
    let stream: MediaStream | null = options.stream ?? null;
    let ownsStream = false;
    let source: MediaStreamAudioSourceNode | null = options.source ?? null;
    let node: AudioWorkletNode | null = null;
    try {
      if (!source && !stream) {
        stream = await openMicrophone(options.constraints);
        ownsStream = true;
      }
      await addCaptureModule(context, this.assets.captureWorklet);
      source ??= context.createMediaStreamSource(stream!);
      const chunkMs = options.chunkMs ?? 10;
      if (!(Number.isFinite(chunkMs) && chunkMs > 0 && chunkMs <= 10_000))
        throw new CaptureError(`chunkMs must be from 0 to 10000 ms, got ${String(chunkMs)}`);
      const chunkFrames = Math.max(128, Math.round((context.sampleRate * chunkMs) / 1000));
      node = new AudioWorkletNode(context, "remotemedia-capture", {
        numberOfInputs: 1,
        numberOfOutputs: 0,
        channelCount: 1,
        channelCountMode: "explicit",
        channelInterpretation: "speakers",
        processorOptions: { chunkFrames },
      });
      const worker = this.pickWorker();
      const id = this.nextId++;
      const opened = (await worker.request(id, { type: "open", id, ...this.manifestFields(worker, prepared) })).result;
      if (opened.status !== "success") throw this.failure(worker, prepared, opened);
      const session = Number(opened.session);
      const channel = new MessageChannel();
      worker.post({ type: "listen", id: this.nextId++, session, port: channel.port2 }, [channel.port2]);
      node.port.postMessage({ type: "connect", port: channel.port1 }, [channel.port1]);
      source.connect(node);
      const listener = new Listener({
        worker,
        session,
        nextId: () => this.nextId++,
        context,
        ownsContext,
        stream,
        ownsStream,
        source,
        ownsSource: !options.source,
        node,
        options,
      });
      // Autoplay rules may keep a new context suspended until a user gesture: then the
      // listener says "suspended" and starts when the app resumes `audioContext`.
      if (context.state === "suspended") await Promise.race([context.resume().catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
      return listener;
    } catch (err) {
      node?.port.close();
      if (!options.source) source?.disconnect();
      if (ownsStream) for (const track of stream?.getTracks() ?? []) track.stop();
      if (ownsContext) void context.close().catch(() => {});
      if (err instanceof RemoteMediaError) throw err;
      throw new CaptureError(`could not start capturing: ${String((err as Error)?.message ?? err)}`, err);
    }
  }

  /** What the browser offers and which paths the SDK takes. */
  capabilities(): Capabilities {
    const g = globalThis as unknown as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
    return {
      crossOriginIsolated: g.crossOriginIsolated === true,
      sharedArrayBuffer: typeof g.SharedArrayBuffer === "function",
      moduleWorkers: moduleWorkers(),
      wasmSimd: wasmSimd(),
      workers: this.workers.length,
      transport: this.options.transport ?? "transfer",
      python: this.pythonState,
      pythonStartup: this.pythonStartup,
      pythonRestarts: this.pythonRestarts,
      pythonInterrupt: this.pythonInterruptReady,
      pythonInterrupts: this.pythonInterrupts,
      pythonInterpreters: this.pythonInterpreterCount,
      executorStartMs: this.executorStartMs,
    };
  }

  /** Stops every worker. Pending runs reject with WorkerCrashedError. */
  async terminate(): Promise<void> {
    this.terminated = true;
    for (const w of this.workers) w.terminate("RemoteMedia.terminate() was called");
    this.python?.terminate();
    this.pythonControl?.close();
    this.workers = [];
  }
}

/**
 * Sessions dropped without `close()`: once garbage-collected, their node state in the
 * worker is freed (`drop`) and their slot in the pool's balance given back.
 */
const sessionsDropped = new FinalizationRegistry<{ worker: ExecutorWorker; session: number; unsubscribe: () => void }>(
  ({ worker, session, unsubscribe }) => {
    unsubscribe();
    worker.sessions--;
    worker.post({ type: "drop", session });
  },
);

/** Python interpreters at once: by default, and at most (each is a worker of about 110 MB). */
const DEFAULT_PYTHON_INTERPRETERS = 4;
const MAX_PYTHON_INTERPRETERS = 64;

/** How long interrupted Python code has to stop before its worker is replaced (ms). */
const INTERRUPT_GRACE_MS = 1000;

/** Distinct manifests kept validated (and named in the workers); the oldest is forgotten. */
const MANIFEST_CACHE = 64;

/** A validated manifest: its id in the workers and a snapshot of its body. */
interface PreparedManifest {
  id: number;
  body: ManifestObject;
  needsPython: boolean;
  /** Model files its nodes need (the validation report's `models`). */
  modelFiles: string[];
  /** Their bytes, once fetched. */
  models: Map<string, Uint8Array>;
  /** `input_data` of the original SDK's `{manifest, input_data}` file form (wire items). */
  inputData?: unknown[];
}

function isBytes(manifest: unknown): manifest is Uint8Array | ArrayBuffer {
  return manifest instanceof Uint8Array || manifest instanceof ArrayBuffer;
}

/** The package's bytes; a detached buffer (transferred elsewhere) is a ManifestError, not a TypeError. */
function bytesOf(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  const buffer = bytes instanceof Uint8Array ? bytes.buffer : bytes;
  if ((buffer as { detached?: boolean }).detached === true) {
    const problem = { path: "rmpkg:$", message: "the package's ArrayBuffer was detached (transferred elsewhere); pass a live one" };
    throw new ManifestError(`invalid manifest (1 problem(s))\n  ${problem.path}: ${problem.message}`, [problem]);
  }
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

/** A package reading error as a manifest problem, its path prefixed `rmpkg:` (as the native CLI's). */
function packageProblem(error: Problem): Problem {
  return { path: `rmpkg:${error.path}`, message: error.message };
}

/** `input_data` when `file` is in the original SDK's `{manifest, input_data}` form (the runtime's `manifest_part`). */
function inputDataOf(file: Record<string, unknown>): unknown[] | undefined {
  const wrapped = !("version" in file) && typeof file.manifest === "object" && file.manifest !== null && !Array.isArray(file.manifest);
  return wrapped && Array.isArray(file.input_data) ? file.input_data : undefined;
}

/**
 * The cache key of a manifest: its JSON text, with values JSON cannot carry marked, so
 * a manifest holding NaN or a function never shares a key with a valid one.
 */
function manifestKey(manifest: unknown): string {
  // The plain JSON.stringify is V8's fast path (a replacer is several times slower on
  // a 10k-node manifest); the marking pass runs only when there is something to mark.
  const plain = JSON.stringify(manifest) as string | undefined;
  if (plain !== undefined && isPlainJson(manifest)) return plain;
  const text = JSON.stringify(manifest, (_key, value: unknown) => {
    if (typeof value === "number" && !Number.isFinite(value)) return `\u0000${value}`;
    if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint" || ArrayBuffer.isView(value))
      return `\u0000${typeof value}`;
    return value;
  }) as string | undefined;
  return text ?? `${KEY_MARK}undefined`;
}

/** Typed errors for arguments of the wrong kind, before anything is sent. */
function checkRunArguments(inputs: unknown, options: unknown): void {
  if (!Array.isArray(inputs)) throw new InputError(`inputs must be an array of items, got ${typeof inputs}`);
  if (typeof options !== "object" || options === null) throw new RemoteMediaError("options must be an object");
  const { signal, timeoutMs } = options as RunOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new RemoteMediaError("options.signal must be an AbortSignal");
  if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs >= 0 && !Number.isNaN(timeoutMs))) {
    throw new RemoteMediaError(`options.timeoutMs must be a number of milliseconds >= 0, got ${String(timeoutMs)}`);
  }
}

/** Whether `value` holds only what JSON carries as it is (no NaN, functions, typed arrays...). */
function isPlainJson(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    switch (typeof v) {
      case "string":
      case "boolean":
        continue;
      case "number":
        if (!Number.isFinite(v)) return false;
        continue;
      case "object":
        if (v === null) continue;
        if (ArrayBuffer.isView(v)) return false;
        if (Array.isArray(v)) {
          for (const x of v) stack.push(x);
        } else {
          for (const key in v) stack.push((v as Record<string, unknown>)[key]);
        }
        continue;
      default:
        return false; // undefined, function, symbol, bigint
    }
  }
  return true;
}

/** How a mark (a NUL character) looks in JSON text. */
const KEY_MARK = "\\u0000";

/**
 * A streaming session on one executor worker (its node state lives there). If that
 * worker stops (crash, `terminate()`, or replacement after another run on it timed out
 * or was aborted), the session is lost: pending and later `push`/`close` calls reject at
 * once with WorkerCrashedError, and `outputs` ends with that error.
 */
export class Session {
  private queue: SessionOutput[] = [];
  private waiters: { resolve: (r: IteratorResult<SessionOutput>) => void; reject: (err: Error) => void }[] = [];
  private closed = false;
  private lost: WorkerCrashedError | null = null;
  /** A Blob push under way (read, then sent): items pushed after it, and close, wait for it, so they arrive in order. */
  private reading: Promise<void> | null = null;
  private unsubscribe: () => void;

  /** @internal */
  constructor(
    private worker: ExecutorWorker,
    private session: number,
    private nextId: () => number,
  ) {
    worker.sessions++;
    // Only a weak reference from the worker: a session dropped without close() must
    // stay collectable, so `sessionsDropped` can free its node state in the worker.
    const weak = new WeakRef(this);
    const unsubscribe = worker.onDeath((err) => weak.deref()?.lose(err));
    this.unsubscribe = unsubscribe;
    sessionsDropped.register(this, { worker, session, unsubscribe }, this);
  }

  private lose(err: WorkerCrashedError): void {
    if (this.closed) return;
    this.lost = new WorkerCrashedError(`the session was lost (its node state is gone; open a new one): ${err.message}`);
    this.end();
    for (const w of this.waiters.splice(0)) w.reject(this.lost);
  }

  /** Marks the session ended on this side and gives its worker's slot back. */
  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    sessionsDropped.unregister(this);
    this.worker.sessions--;
  }

  private async step(message: ToExecutor & { id: number }): Promise<SessionOutput[]> {
    let answer: RuntimeAnswer;
    try {
      answer = (await this.worker.request(message.id, message)).result;
    } catch (err) {
      throw this.lost ?? err;
    }
    if (answer.status !== "success") throw errorFromJson(answer.error as Record<string, unknown>);
    const outputs = (answer.outputs as { node_id: string; data: unknown }[]).map((o) => ({ nodeId: o.node_id, data: fromWire(o.data) }));
    for (const o of outputs) {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve({ value: o, done: false });
      else this.queue.push(o);
    }
    return outputs;
  }

  /**
   * Pushes one item; resolves with what the sinks produced for it (also delivered to
   * `outputs`). A `Blob` or `File` is read first and pushed as binary bytes; items
   * pushed after it wait for it, so the session receives them in order. Rejects with
   * InputError for an item that cannot be converted or read, RemoteMediaError after
   * `close`, WorkerCrashedError once the session is lost.
   */
  push(item: InputItem): Promise<SessionOutput[]> {
    if (this.lost) return Promise.reject(this.lost);
    if (this.closed) return Promise.reject(new SessionClosedError());
    if (isBlob(item) || this.reading) {
      // Chained on the previous read-and-push, so this item is sent after it.
      const before = this.reading ?? Promise.resolve();
      const pushed = before.then(() => (isBlob(item) ? readBlob(item, "item") : item)).then((ready) => this.pushNow(ready));
      const settled: Promise<void> = pushed.then(
        () => undefined,
        () => undefined,
      );
      this.reading = settled;
      void settled.then(() => {
        if (this.reading === settled) this.reading = null;
      });
      return pushed;
    }
    return this.pushNow(item);
  }

  private pushNow(item: InputItem): Promise<SessionOutput[]> {
    if (this.lost) return Promise.reject(this.lost);
    if (this.closed) return Promise.reject(new SessionClosedError());
    const id = this.nextId();
    let wire: unknown;
    try {
      wire = toWire(item);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.step({ type: "push", id, session: this.session, item: wire });
  }

  /** Flushes every node and ends the session; resolves with the last outputs. */
  async close(): Promise<SessionOutput[]> {
    // Blobs pushed before close are read and pushed first.
    while (this.reading) await this.reading;
    if (this.lost) throw this.lost;
    if (this.closed) return [];
    const id = this.nextId();
    const closing = this.step({ type: "close", id, session: this.session });
    this.end();
    try {
      return await closing;
    } finally {
      for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
    }
  }

  /** Every output as it is produced; ends after `close`, or throws once the session is lost. */
  get outputs(): AsyncIterable<SessionOutput> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          const item = this.queue.shift();
          if (item) return Promise.resolve({ value: item, done: false });
          if (this.lost) return Promise.reject(this.lost);
          if (this.closed) return Promise.resolve({ value: undefined, done: true });
          return new Promise<IteratorResult<SessionOutput>>((resolve, reject) => this.waiters.push({ resolve, reject }));
        },
      }),
    };
  }
}
