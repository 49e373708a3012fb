/**
 * Python supervision on the main thread: starting the Python worker (the host of the
 * interpreters, worker/python/), connecting each executor worker to it over a channel
 * of its own, cancelling the Python work of a run (an interrupt through shared memory
 * when the page is cross-origin isolated, else a restart), and replacing the worker
 * when it dies.
 */
import { startAnnounced } from "../announced-worker.js";
import type { AnnouncedWorker } from "../announced-worker.js";
import type { AssetURLs } from "../assets.js";
import { crossOriginIsolated } from "../environment.js";
import { AbortError, AssetError, RemoteMediaError, TimeoutError } from "../errors.js";
import { DEFAULT_PYTHON_INTERPRETERS } from "../options.js";
import { DEFAULT_LOAD_STALL_MS, timerDelay } from "../timers.js";
import type { CreateOptions, ProgressEvent } from "../options.js";
import type { ExecutorWorker } from "../pool/executor-worker.js";
import { CANCELLED_FIRST, CANCELLED_NEXT, CANCELLED_RING, INTERRUPT_SLOT, INTERRUPT_SLOTS, RUNNING_SLOT } from "../protocol/python.js";
import type { PythonEvent, PythonInit, PythonStartup, ToPythonControl } from "../protocol/python.js";
import type { Capabilities } from "../types.js";

/** How long interrupted Python code has to stop before its worker is replaced (ms). */
const INTERRUPT_GRACE_MS = 1000;

/** The Python side of {@link Capabilities}. */
export type PythonStatus = Pick<
  Capabilities,
  "python" | "pythonStartup" | "pythonRestarts" | "pythonInterrupt" | "pythonInterrupts" | "pythonInterpreters"
>;

export class PythonSupervisor {
  private worker: AnnouncedWorker | null = null;
  private state: PythonStatus["python"];
  private ready: Promise<void> | null = null;
  private restarts = 0;
  private interruptCount = 0;
  private interpreters = 0;
  private startup: PythonStartup | undefined;
  /** Each executor worker's channel to the Python worker, by number (see ToPythonControl). */
  private connections = 0;
  private connectionOf = new WeakMap<ExecutorWorker, number>();
  /** The private channel to the Python worker (`PythonEvent` in, `ToPythonControl` out). */
  private control: MessagePort | null = null;
  /** Interrupt memory shared with the Python worker (cross-origin isolated pages). */
  private interrupts: Int32Array | null = null;
  private interruptReady = false;
  private stopped = false;

  /**
   * `workers` lists the executor workers to connect when Python starts;
   * `snapshotCache` names this build's Cache API cache for memory snapshots.
   */
  constructor(
    private options: CreateOptions,
    private assets: AssetURLs,
    private workers: () => readonly ExecutorWorker[],
    private snapshotCache: string,
  ) {
    this.state = options.python === false ? "off" : "not started";
  }

  /** Whether Python is on or starting (new executor workers are connected to it). */
  get started(): boolean {
    return this.state === "ready" || this.state === "starting";
  }

  /** Whether `python: false` turned Python off. */
  get off(): boolean {
    return this.state === "off";
  }

  /** Listeners of the start-up's progress besides `options.onProgress` (runs that wait for it). */
  private startListeners = new Set<(event: ProgressEvent) => void>();
  /** The start-up's last stage, for the error of a run that stopped waiting for it. */
  private stage = "";

  /**
   * Starts Python if needed and resolves when it is ready, telling `listener` (a run's
   * own `onProgress`) the start-up's progress meanwhile. A run stops waiting when
   * `signal` aborts (AbortError) or at `deadline` (a `performance.now()` time: a
   * TimeoutError of `timeoutMs` ms naming the stage Python had reached); the start goes
   * on for the runs after it. Rejects with the start's own error (AssetError,
   * RemoteMediaError) when it fails.
   */
  async startFor(run: {
    listener?: (event: ProgressEvent) => void;
    signal?: AbortSignal;
    deadline?: number;
    timeoutMs?: number;
  }): Promise<void> {
    if (this.state === "ready") return this.start();
    const { listener, signal, deadline, timeoutMs } = run;
    if (listener) this.startListeners.add(listener);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort = () => {};
    try {
      await Promise.race([
        this.start(),
        new Promise<never>((_, reject) => {
          onAbort = () => reject(new AbortError());
          if (signal?.aborted) onAbort();
          signal?.addEventListener("abort", onAbort, { once: true });
          if (deadline !== undefined) {
            const ms = timeoutMs ?? 0;
            const late = () =>
              reject(new TimeoutError(ms, `the run did not finish within ${ms} ms: Python was still starting (${this.stage})`));
            timer = setTimeout(late, timerDelay(deadline - performance.now()));
          }
        }),
      ]);
    } finally {
      if (listener) this.startListeners.delete(listener);
      signal?.removeEventListener("abort", onAbort);
      clearTimeout(timer);
    }
  }

  /** Starts the Python worker now (once); resolves when its first interpreter is ready. */
  start(): Promise<void> {
    if (this.state === "off") return Promise.reject(new RemoteMediaError("Python is disabled (python: false)"));
    if (this.ready) return this.ready;
    const t0 = performance.now();
    const progress = (stage: string, elapsedMs: number) => {
      this.stage = stage;
      const event: ProgressEvent = { stage, component: "python", elapsedMs, python: this.state };
      this.options.onProgress?.(event);
      for (const listener of this.startListeners) listener(event);
    };
    this.state = "starting";
    progress("starting the Python worker", 0);
    const control = new MessageChannel();
    this.interrupts =
      crossOriginIsolated() && typeof SharedArrayBuffer === "function" ? new Int32Array(new SharedArrayBuffer(INTERRUPT_SLOTS * 4)) : null;
    const init: PythonInit = {
      type: "init",
      control: control.port2,
      assets: this.assets,
      indexURL: this.options.indexURL,
      snapshotCache: this.options.pythonSnapshot === false ? null : this.snapshotCache,
      network: this.options.pythonNetwork !== false,
      interrupts: this.interrupts?.buffer as SharedArrayBuffer | undefined,
      maxInterpreters: this.options.pythonInterpreters ?? DEFAULT_PYTHON_INTERPRETERS,
      loadStallMs: this.options.pythonLoadStallMs ?? DEFAULT_LOAD_STALL_MS,
    };
    let settle = { resolve: () => {}, reject: (_: Error) => {} };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Before start-up ends a failure fails the start; after, the worker is replaced.
    const fail = (message: string, err: Error) => {
      if (this.state === "ready") return this.restart(message);
      this.state = "failed";
      progress(`Python could not start: ${message}`, performance.now() - t0);
      settle.reject(err);
    };
    const stallMs = init.loadStallMs;
    try {
      this.worker = startAnnounced(this.assets.pythonWorker, "remotemedia-python", {
        stallMs,
        onStall: () => progress(`the Python worker's script did not load in ${stallMs} ms: loading it again`, performance.now() - t0),
        // Its one message goes once it listens. Executor workers' channels may go out at
        // once: what is posted on `control` waits in its other end until that arrives.
        onLoaded: (worker) => {
          progress("the Python worker is running", performance.now() - t0);
          worker.postMessage(init, [control.port2]);
        },
        onError: (detail) => {
          const message = `the Python worker crashed: ${detail}`;
          fail(message, new RemoteMediaError(message));
        },
      });
    } catch (err) {
      this.state = "failed";
      progress(`Python could not start: ${String((err as Error)?.message ?? err)}`, performance.now() - t0);
      return Promise.reject(err);
    }
    this.control = control.port1;
    control.port1.onmessage = (event: MessageEvent<PythonEvent>) => {
      const m = event.data;
      if (m.type === "progress") progress(m.stage, performance.now() - t0);
      else if (m.type === "interpreters") this.interpreters = m.count;
      else if (m.type === "ready") {
        this.state = "ready";
        this.startup = m.breakdown;
        this.interruptReady = m.interrupts;
        progress("Python ready", performance.now() - t0);
        settle.resolve();
      } else if (m.type === "fatal") {
        fail(
          m.message,
          m.asset ? new AssetError(m.message, m.asset.url, m.asset.status, m.asset.contentType) : new RemoteMediaError(m.message),
        );
      }
    };
    this.ready = ready;
    for (const w of this.workers()) this.connect(w);
    return this.ready;
  }

  /**
   * Stops the Python worker and starts a new one at once (from the memory snapshot when
   * there is one). Connecting the new one fails the Python calls still waiting in the
   * executor workers: their runs reject with NodeError; later runs use the new worker.
   * Python state (module globals, node instances) does not survive.
   */
  restart(reason: string): void {
    if (!this.worker || this.stopped) return;
    if (this.control) this.control.onmessage = null;
    this.control?.close();
    this.worker.stop();
    this.worker = null;
    this.control = null;
    this.interrupts = null;
    this.interruptReady = false;
    this.interpreters = 0;
    this.ready = null;
    this.state = "not started";
    this.restarts++;
    this.options.onProgress?.({ stage: `restarting the Python worker: ${reason}`, component: "python", elapsedMs: 0, python: "starting" });
    this.start().catch(() => {}); // a failed start is reported to the next run that needs Python
  }

  /** Connects an executor worker to the Python worker (a MessageChannel of their own), if Python runs. */
  connect(worker: ExecutorWorker): void {
    if (!this.control) return;
    const channel = new MessageChannel();
    const connection = ++this.connections;
    this.connectionOf.set(worker, connection);
    worker.post({ type: "python-port", port: channel.port1 }, [channel.port1]);
    this.control.postMessage({ type: "connect", port: channel.port2, connection } satisfies ToPythonControl, [channel.port2]);
  }

  /** An executor worker is gone: the Python node instances it made (open sessions, runs in flight) are released. */
  disconnect(worker: ExecutorWorker): void {
    const connection = this.connectionOf.get(worker);
    if (connection !== undefined) this.control?.postMessage({ type: "disconnect", connection } satisfies ToPythonControl);
  }

  /**
   * Stops the Python work of run `run` (timed out or aborted). With interrupts, the run
   * goes on the cancelled list first (its queued Python requests are skipped), then,
   * if Python is serving it now, SIGINT is written: its node code raises
   * `RunCancelled` and Python keeps its state. If that run is still in Python
   * `INTERRUPT_GRACE_MS` later (code that catches everything, or blocks in JS), or
   * without interrupts, the Python worker is replaced.
   */
  cancel(run: number, what: string): void {
    const shared = this.interruptReady ? this.interrupts : null;
    if (!shared) {
      this.restart(what);
      return;
    }
    const next = Atomics.add(shared, CANCELLED_NEXT, 1);
    Atomics.store(shared, CANCELLED_FIRST + (next % CANCELLED_RING), run);
    if (Atomics.load(shared, RUNNING_SLOT) !== run) return; // not started: it will be skipped
    Atomics.store(shared, INTERRUPT_SLOT, 2);
    setTimeout(() => {
      if (this.interrupts !== shared) return; // already replaced
      if (Atomics.load(shared, RUNNING_SLOT) === run) this.restart(`${what}, and its Python code did not stop when interrupted`);
      else this.interruptCount++;
    }, INTERRUPT_GRACE_MS);
  }

  /** Where Python stands, for `capabilities()`. */
  status(): PythonStatus {
    return {
      python: this.state,
      pythonStartup: this.startup,
      pythonRestarts: this.restarts,
      pythonInterrupt: this.interruptReady,
      pythonInterrupts: this.interruptCount,
      pythonInterpreters: this.interpreters,
    };
  }

  /** Stops the Python worker for good. */
  terminate(): void {
    this.stopped = true;
    this.worker?.stop();
    this.control?.close();
  }
}
