/**
 * The SDK's facade, `RemoteMedia`: one instance owns a pool of executor workers
 * (pool/), the manifest cache (manifest/), Python supervision (python/) and the model
 * files its manifests need; runs, sessions and live capture go through it.
 *
 * ```ts
 * const rm = await RemoteMedia.create({ workers: 2, onProgress: (e) => console.log(e.stage) });
 * const result = await rm.run(manifest, [fileBytes], { timeoutMs: 10_000 });
 * const session = await rm.open(manifest);   // streaming: node state across pushes
 * const listener = await rm.listen(manifest); // the microphone into a session
 * await rm.terminate();
 * ```
 *
 * Every method that can fail rejects (or throws) with a typed {@link RemoteMediaError}
 * (errors.ts): ManifestError, NodeError, InputError, AbortError, TimeoutError,
 * WorkerCrashedError, AssetError, CaptureError, UnsupportedEnvironmentError.
 */
import init, { checkLimits, manifestInputData, readPackage, validateManifest } from "../wasm/remotemedia_worker.js";
import { assetURLs, fetchAsset, resolveBase } from "./assets.js";
import type { AssetURLs } from "./assets.js";
import { readBlobs } from "./blob.js";
import { BUILD } from "./build-info.js";
import { crossOriginIsolated, moduleWorkers, sharedArrayBuffer, unsupportedReason, wasmSimd } from "./environment.js";
import { AbortError, AssetError, NodeError, RemoteMediaError, TimeoutError, UnsupportedEnvironmentError } from "./errors.js";
import { assertCaptureSupported, startListening } from "./live/capture.js";
import type { Listener, ListenOptions } from "./live/listener.js";
import { ManifestCache } from "./manifest/cache.js";
import type { PreparedManifest } from "./manifest/cache.js";
import { ModelFiles } from "./manifest/models.js";
import { bytesOf, isBytes, readPackageBytes } from "./manifest/package.js";
import { checkCreateOptions, checkRunArguments, defaultWorkerCount } from "./options.js";
import { timerDelay } from "./timers.js";
import type { CreateOptions, ProgressEvent, RunOptions, RunProgress } from "./options.js";
import type { Answer } from "./pool/executor-worker.js";
import type { ExecutorWorker } from "./pool/executor-worker.js";
import { ExecutorPool, retryable } from "./pool/pool.js";
import type { ToExecutor } from "./protocol/executor.js";
import { PythonSupervisor } from "./python/supervisor.js";
import { Session } from "./session.js";
import type { Capabilities, Manifest, PackageContents, RunResult, ValidationReport } from "./types.js";
import { fromWire, toWire } from "./wire.js";
import type { InputItem } from "./wire.js";

/**
 * Compiles the runtime once. The bytes are checked first (an HTML fallback page served
 * with status 200 is a common misconfiguration), so a failure names the URL and what
 * came back, as an AssetError.
 */
async function compileRuntime(url: string): Promise<WebAssembly.Module> {
  // Compiled from the response as it streams in, the browser may cache the machine code
  // with the file (Chromium does, from the HTTP cache and from Cache Storage), so a warm
  // start need not compile again. Whatever goes wrong there is retried by the checked
  // path below, which names the problem.
  if (typeof WebAssembly.compileStreaming === "function") {
    const response = await fetch(url).catch(() => undefined);
    if (response?.ok && (response.headers.get("content-type") ?? "").startsWith("application/wasm")) {
      const module = await WebAssembly.compileStreaming(response).catch(() => undefined);
      if (module) return module;
    }
  }
  const bytes = await fetchAsset(url, "wasm");
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new AssetError(`${url}: the WebAssembly does not compile: ${String((err as Error)?.message ?? err)}`, url);
  }
}

/** `RunResult.output`: a sink's items, or a RemoteMediaError naming the sinks there are. */
function sinkOutputs(this: { outputs_by_node: Record<string, unknown[]> }, sink: string): unknown[] {
  const items = Object.hasOwn(this.outputs_by_node, sink) ? this.outputs_by_node[sink] : undefined;
  if (!items) throw new RemoteMediaError(`no sink "${sink}" in this result; its sinks: ${Object.keys(this.outputs_by_node).join(", ")}`);
  return items;
}

/** The SDK: a pool of executor workers and, on demand, the Python worker. */
export class RemoteMedia {
  private pool: ExecutorPool;
  private manifests: ManifestCache;
  private models: ModelFiles;
  private python: PythonSupervisor;
  private terminated = false;
  private executorStartMs = 0;

  private constructor(
    module: Promise<WebAssembly.Module>,
    private options: CreateOptions,
    private assets: AssetURLs,
  ) {
    this.models = new ModelFiles(assets);
    this.python = new PythonSupervisor(options, assets, () => this.pool.all, `remotemedia-web-${BUILD.version}-${BUILD.hash}`);
    this.pool = new ExecutorPool({
      module,
      scriptURL: assets.executorWorker,
      init: { limits: options.limits, remoteToken: options.remoteToken },
      onSpawn: (worker) => {
        if (this.python.started) this.python.connect(worker);
      },
      onReplace: (dead) => this.python.disconnect(dead),
    });
    const rules = {
      validate: (manifest: unknown) => validateManifest(manifest, options.limits) as ValidationReport,
      inputData: (text: string) => manifestInputData(text) as unknown[] | undefined,
    };
    this.manifests = new ManifestCache(rules, (id) => this.pool.forget(id), options.pythonModules === false);
  }

  /**
   * Compiles the WebAssembly runtime once, starts the executor pool, and (with
   * `python: true`) Pyodide. Rejects with UnsupportedEnvironmentError outside a browser
   * (server-side rendering: call it in an effect), AssetError when a runtime file cannot
   * be fetched or is not what it should be, RemoteMediaError for an option that cannot
   * be used, and WorkerCrashedError if a worker cannot start.
   */
  static async create(options: CreateOptions = {}): Promise<RemoteMedia> {
    const unsupported = unsupportedReason();
    if (unsupported) {
      throw new UnsupportedEnvironmentError(
        `RemoteMedia.create() needs a browser: ${unsupported} (on a server, create it on the client, e.g. in useEffect or onMounted)`,
      );
    }
    checkCreateOptions(options);
    const t0 = performance.now();
    const report = (stage: string, component: ProgressEvent["component"] = "executor") =>
      options.onProgress?.({ stage, component, elapsedMs: performance.now() - t0 });
    const assets = assetURLs(options.assetsURL === undefined ? undefined : resolveBase(options.assetsURL));
    report("compiling WebAssembly");
    const module = compileRuntime(assets.executorWasm);
    module.catch(() => {}); // handled below, via init(); never left unhandled
    const rm = new RemoteMedia(module, options, assets);
    const count = Math.max(1, options.workers ?? defaultWorkerCount());
    report(`starting ${count} executor worker(s)`);
    try {
      // Workers load their scripts while the module compiles; each gets it when ready.
      const started = rm.pool.start(count);
      started.catch(() => {}); // awaited below, after the main-thread instance
      await init({ module_or_path: await module }); // main-thread instance: synchronous validate()
      const badLimits = checkLimits(options.limits);
      if (badLimits !== undefined) throw new RemoteMediaError(`options.${badLimits}`);
      await started;
    } catch (err) {
      await rm.terminate();
      throw err;
    }
    rm.executorStartMs = performance.now() - t0;
    report("executor ready");
    if (options.python === true) await rm.startPython();
    return rm;
  }

  /**
   * Checks a manifest (an object, JSON text, or `.rmpkg` bytes) without running it.
   * Synchronous: the runtime also lives on the main thread. An object is read as JSON
   * data: a value JSON cannot carry (NaN, a function) is a problem at `$`, not silently
   * `null`. A package's problems are at `rmpkg:<entry>`.
   */
  validate(manifest: Manifest): ValidationReport {
    if (isBytes(manifest)) return validateManifest(bytesOf(manifest), this.options.limits) as ValidationReport;
    return this.manifests.validate(manifest);
  }

  /**
   * Reads an `.rmpkg` package (a zip of `manifest.json`, an optional `metadata.json`,
   * the original runtime's `runtime.wasm`, which is not used, and `deps/` files, whose
   * `.py` files become `python.modules`). `run`, `open` and `listen` take the bytes
   * directly; this shows what is inside. Throws ManifestError naming the entry when the
   * package cannot be read (not a zip, no `manifest.json`, a damaged entry, a file over
   * 16 MiB decompressed, a detached buffer).
   */
  readPackage(bytes: Uint8Array | ArrayBuffer): PackageContents {
    return readPackageBytes(bytes, readPackage);
  }

  /** Starts Pyodide now (otherwise it starts with the first manifest that needs it). */
  startPython(): Promise<void> {
    return this.python.start();
  }

  /**
   * Parses and validates (once per distinct manifest), fetches the model files it needs
   * and starts Python if it needs it. `run` is what a run waits for Python with: its
   * progress listener, its abort signal and its deadline (see PythonSupervisor.startFor).
   */
  private async prepare(manifest: Manifest, run: Parameters<PythonSupervisor["startFor"]>[0] = {}): Promise<PreparedManifest> {
    if (this.terminated) throw new RemoteMediaError("this RemoteMedia instance was terminated");
    const prepared = this.manifests.prepare(isBytes(manifest) ? this.readPackage(manifest).manifest : manifest);
    // The runtime says which model files the nodes need: fetched before the first request.
    for (const file of prepared.modelFiles) {
      if (!prepared.models.has(file)) prepared.models.set(file, await this.models.get(file));
    }
    // The runtime says which nodes run in Python (and which packages they need).
    if (prepared.needsPython) {
      if (this.python.off) throw new RemoteMediaError("this manifest has Python nodes but Python is disabled (python: false)");
      await this.python.startFor(run);
    }
    return prepared;
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
    const tell = progressTo(options.onProgress);
    // The time limit counts from here: waiting for Python's start is part of the run.
    const deadline = options.timeoutMs === undefined ? undefined : performance.now() + options.timeoutMs;
    const prepared = await this.prepare(manifest, {
      listener: tell && ((python) => tell({ stage: "python", python })),
      signal: options.signal,
      deadline,
      timeoutMs: options.timeoutMs,
    });
    const transfer = (this.options.transport ?? "transfer") === "transfer" && options.decode !== false;
    let worker: ExecutorWorker;
    let answer: Answer;
    for (let attempt = 1; ; attempt++) {
      const buffers: ArrayBuffer[] | undefined = transfer ? [] : undefined;
      const wireInputs =
        inputs.length === 0 && prepared.inputData
          ? prepared.inputData
          : inputs.map((item, i) => toWire(item, `inputs[${i}]`, buffers && { buffers, detach: options.transferInputs === true }));
      if (options.signal?.aborted) throw new AbortError(); // aborted while Python started: still never sent
      worker = this.pool.pick();
      const id = this.pool.nextId();
      const message: ToExecutor = {
        type: "run",
        id,
        ...this.pool.deliver(worker, prepared),
        inputs: wireInputs,
        buffers,
        progress: !!tell,
      };
      const waitMs = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
      const stopProgress = tell && worker.onProgress(id, (report) => tell({ stage: "running", ...report }));
      try {
        answer = await this.guard(worker, id, worker.request(id, message, buffers ?? []), options, waitMs, prepared);
        break;
      } catch (err) {
        // Another run crashed or stopped this worker: try once more on a fresh one.
        if (!retryable(err, attempt, options.transferInputs === true)) throw err;
      } finally {
        stopProgress?.();
      }
    }
    const result = answer.result;
    if (result.status !== "success") {
      const failure = this.pool.failure(worker, prepared, result);
      // WebAssembly memory never shrinks: after a Python MemoryError the Python worker
      // holds what it grew to until it is replaced.
      if (prepared.needsPython && failure instanceof NodeError && /\bMemoryError\b/.test(failure.message))
        this.python.restart("a Python node ran out of memory (MemoryError)");
      throw failure;
    }
    // The runtime carries each item once: `outputs_by_node` holds indices into
    // `outputs`. Here each sink's list refers to the same (decoded) items.
    const raw = result as unknown as Omit<RunResult<unknown>, "outputs_by_node" | "worker"> & { outputs_by_node: Record<string, number[]> };
    const outputs = options.decode === false ? raw.outputs : raw.outputs.map((v) => fromWire(v, answer.buffers));
    const byNode = Object.fromEntries(Object.entries(raw.outputs_by_node).map(([sink, indices]) => [sink, indices.map((i) => outputs[i])]));
    const done = { ...raw, outputs, outputs_by_node: byNode, worker: worker.index };
    Object.defineProperty(done, "output", { value: sinkOutputs, enumerable: false });
    return done as RunResult;
  }

  /** Applies abort and timeout to a request. A worker left busy with an abandoned run is replaced. */
  private guard(
    worker: ExecutorWorker,
    id: number,
    request: Promise<Answer>,
    options: RunOptions,
    waitMs: number | undefined,
    prepared: PreparedManifest,
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
        if (prepared.needsPython) {
          // Interrupted in place when the page is cross-origin isolated; otherwise the
          // Python worker is replaced (Python calls of other runs in flight fail with NodeError).
          this.python.cancel(id, what);
        } else if (!prepared.hasRemoteNodes) {
          // Rust code computes without yielding and cannot see the cancel flag: the
          // worker is replaced rather than left computing. Other runs on it are retried
          // on a fresh worker; sessions open on it are lost (WorkerCrashedError).
          worker.terminate(`executor worker ${worker.index} was replaced: ${what} while it computed`, true);
          this.pool.replace(worker);
        }
        // A run with nodes on servers keeps its worker: the worker yields while it waits on
        // a server, sees the cancel, and closes the run's server sessions at once.
        reject(err);
      };
      const onAbort = () => stop(new AbortError());
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      if (waitMs !== undefined) timer = setTimeout(() => stop(new TimeoutError(timeoutMs ?? waitMs)), timerDelay(waitMs));
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

  /**
   * Opens a streaming session: node state lives across `push` calls until `close`.
   * Rejects with ManifestError, NodeError (a node that fails to start) or WorkerCrashedError.
   */
  async open(manifest: Manifest): Promise<Session> {
    const prepared = await this.prepare(manifest);
    const { worker, session } = await this.pool.openSession(prepared);
    return new Session(worker, session, () => this.pool.nextId());
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
    assertCaptureSupported();
    const prepared = await this.prepare(manifest);
    return startListening(this.pool, prepared, this.assets.captureWorklet, options);
  }

  /** What the browser offers and which paths the SDK takes. */
  capabilities(): Capabilities {
    return {
      crossOriginIsolated: crossOriginIsolated(),
      sharedArrayBuffer: sharedArrayBuffer(),
      moduleWorkers: moduleWorkers(),
      wasmSimd: wasmSimd(),
      workers: this.pool.all.length,
      transport: this.options.transport ?? "transfer",
      ...this.python.status(),
      executorStartMs: this.executorStartMs,
    };
  }

  /** Stops every worker. Pending runs reject with WorkerCrashedError. */
  async terminate(): Promise<void> {
    this.terminated = true;
    this.pool.terminate("RemoteMedia.terminate() was called");
    this.python.terminate();
  }
}

/** A run's `onProgress`, called so that a throwing callback cannot affect the run. */
function progressTo(onProgress: RunOptions["onProgress"]): ((event: RunProgress) => void) | undefined {
  if (!onProgress) return undefined;
  return (event) => {
    try {
      onProgress(event);
    } catch (err) {
      console.error("remotemedia: an onProgress callback threw:", err);
    }
  };
}
