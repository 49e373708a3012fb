/**
 * One executor worker, seen from the main thread: a dedicated module worker running the
 * Rust executor, given the compiled WebAssembly.Module (compiled once, instantiated per
 * worker). It matches answers to requests by id and, when it stops, fails the requests
 * it holds with WorkerCrashedError and tells its listeners; the pool (pool.ts) replaces it.
 */
import { spawnWorker } from "../assets.js";
import { NodeError, WorkerCrashedError } from "../errors.js";
import type { ExecutorInit, FromExecutor, LiveStep, ProgressReport, RuntimeAnswer, ToExecutor } from "../protocol/executor.js";

/** A worker's answer: the runtime's answer object, plus transferred payload buffers in "transfer" mode. */
export interface Answer {
  result: RuntimeAnswer;
  buffers?: Uint8Array[];
}

type Pending = { resolve: (answer: Answer) => void; reject: (err: Error) => void };

/** One executor worker, the requests it is holding and the sessions open on it. */
export class ExecutorWorker {
  readonly index: number;
  /** Streaming sessions open on this worker (their node state lives here): see {@link holdSession}. */
  private sessions = 0;
  /** Ids of the manifests this worker has been given (see `protocol.ts`). */
  readonly manifests = new Set<number>();
  /** Model files this worker has been given (see `protocol.ts`). */
  readonly models = new Set<string>();
  private worker: Worker;
  private pending = new Map<number, Pending>();
  private deadReason: string | null = null;
  private deathListeners = new Set<(err: WorkerCrashedError) => void>();
  private readyPromise: Promise<void>;
  private rejectReady: (err: Error) => void = () => {};
  private onCrash: (w: ExecutorWorker) => void;
  private liveListeners = new Map<number, (step: LiveStep) => void>();
  private progressListeners = new Map<number, (report: ProgressReport) => void>();

  /** `module` may still be compiling: the worker loads its script (`scriptURL`) meanwhile. */
  constructor(
    index: number,
    module: Promise<WebAssembly.Module>,
    onCrash: (w: ExecutorWorker) => void,
    scriptURL: string,
    init: ExecutorInit = {},
  ) {
    this.index = index;
    this.onCrash = onCrash;
    this.worker = spawnWorker(scriptURL, `remotemedia-executor-${index}`);
    this.readyPromise = new Promise((resolve, reject) => {
      this.rejectReady = reject;
      this.worker.onmessage = (event: MessageEvent<FromExecutor>) => {
        const message = event.data;
        if (message.type === "ready") resolve();
        else if (message.type === "live") this.liveListeners.get(message.session)?.(message);
        else if (message.type === "progress") this.progressListeners.get(message.id)?.(message.report);
        else if (message.type === "answer") this.settle(message.id, (p) => p.resolve({ result: message.result, buffers: message.buffers }));
        else if (message.type === "fatal") {
          const err = new WorkerCrashedError(`executor worker ${index}: ${message.message}`);
          if (message.panic) {
            // The run that panicked gets a NodeError naming the node; the others on this
            // worker did nothing wrong and are retried elsewhere.
            const { runId, nodeId, nodeType } = message.panic;
            if (runId !== null) {
              const detail = message.message;
              const where = nodeId ? `node "${nodeId}" (${nodeType}) ` : "";
              this.settle(runId, (p) =>
                p.reject(
                  new NodeError(`${where}${detail}`, {
                    nodeId: nodeId ?? "",
                    nodeType: nodeType ?? "",
                    language: "rust",
                    detail,
                    traceback: null,
                  }),
                ),
              );
            }
            this.crash(new WorkerCrashedError(err.message, true));
          } else if (message.id === undefined) {
            reject(err);
            this.crash(err);
          } else {
            this.settle(message.id, (p) => p.reject(err));
            this.crash(err);
          }
        }
      };
      this.worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const err = new WorkerCrashedError(`executor worker ${index} crashed: ${event.message || "script error"}`);
        reject(err);
        this.crash(err);
      };
    });
    this.readyPromise.catch(() => {});
    module.then(
      (m) => this.post({ type: "init", module: m, ...init }),
      (err: unknown) =>
        this.crash(new WorkerCrashedError(`executor worker ${index}: no WebAssembly module: ${String((err as Error)?.message ?? err)}`)),
    );
  }

  /** Resolves once the runtime is instantiated. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Requests in flight plus open sessions: what the pool balances on. */
  get load(): number {
    return this.pending.size + this.sessions;
  }

  /**
   * Counts one open session (or live listener) in this worker's {@link load} until the
   * returned function is called; calling it again does nothing.
   */
  holdSession(): () => void {
    this.sessions++;
    let held = true;
    return () => {
      if (held) this.sessions--;
      held = false;
    };
  }

  /**
   * Calls `listener` once if this worker stops (terminated, crashed or replaced);
   * returns a function that unsubscribes.
   */
  onDeath(listener: (err: WorkerCrashedError) => void): () => void {
    this.deathListeners.add(listener);
    return () => this.deathListeners.delete(listener);
  }

  /** Routes the progress reports of run `id` to `listener`; returns a function that stops it. */
  onProgress(id: number, listener: (report: ProgressReport) => void): () => void {
    this.progressListeners.set(id, listener);
    return () => this.progressListeners.delete(id);
  }

  /** Routes the live steps of `session` to `listener`; returns a function that stops it. */
  onLive(session: number, listener: (step: LiveStep) => void): () => void {
    this.liveListeners.set(session, listener);
    return () => this.liveListeners.delete(session);
  }

  /**
   * Sends a request (transferring `transfer`) and resolves with the runtime's answer.
   * On a stopped worker it rejects at once with WorkerCrashedError.
   */
  request(id: number, message: ToExecutor, transfer: Transferable[] = []): Promise<Answer> {
    if (this.deadReason !== null) return Promise.reject(new WorkerCrashedError(this.deadReason));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post(message, transfer);
    });
  }

  /** Sends a message that expects no answer. */
  post(message: ToExecutor, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  /** Forgets a request (its answer, if any, is dropped). */
  forget(id: number): void {
    this.pending.delete(id);
  }

  /**
   * Stops the worker; requests still held, and sessions on it, fail with
   * WorkerCrashedError (`innocent` when they are to be retried elsewhere).
   */
  terminate(reason = "the worker was terminated", innocent = false): void {
    this.die(new WorkerCrashedError(reason, innocent));
  }

  private die(err: WorkerCrashedError): void {
    this.worker.terminate();
    this.rejectReady(err);
    if (this.deadReason === null) this.deadReason = err.message;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    const listeners = [...this.deathListeners];
    this.deathListeners.clear();
    for (const listener of listeners) listener(err);
  }

  private settle(id: number, action: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (p) {
      this.pending.delete(id);
      action(p);
    }
  }

  private crash(err: WorkerCrashedError): void {
    if (this.deadReason !== null) return; // already stopped and replaced
    this.die(err);
    this.onCrash(this);
  }
}
