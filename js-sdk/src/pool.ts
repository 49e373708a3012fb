/**
 * The executor worker pool. Each worker is a dedicated module worker running the
 * Rust executor; the compiled WebAssembly.Module is posted to it (compiled once,
 * instantiated per worker). A worker that crashes is replaced; only the requests it
 * was holding fail, with WorkerCrashedError.
 */
import { spawnWorker } from "./assets.js";
import { WorkerCrashedError } from "./errors.js";
import type { FromExecutor, ToExecutor } from "./protocol.js";

/** A worker's answer: JSON text, plus transferred payload buffers in "transfer" mode. */
export interface Answer {
  json: string;
  buffers?: Uint8Array[];
}

type Pending = { resolve: (answer: Answer) => void; reject: (err: Error) => void };

/** One executor worker and the requests it is holding. */
export class ExecutorWorker {
  readonly index: number;
  private worker: Worker;
  private pending = new Map<number, Pending>();
  private readyPromise: Promise<string[]>;
  private onCrash: (w: ExecutorWorker) => void;

  /** `module` may still be compiling: the worker loads its script (`scriptURL`) meanwhile. */
  constructor(index: number, module: Promise<WebAssembly.Module>, onCrash: (w: ExecutorWorker) => void, scriptURL: string) {
    this.index = index;
    this.onCrash = onCrash;
    this.worker = spawnWorker(scriptURL, `remotemedia-executor-${index}`);
    this.readyPromise = new Promise((resolve, reject) => {
      this.worker.onmessage = (event: MessageEvent<FromExecutor>) => {
        const message = event.data;
        if (message.type === "ready") resolve(message.nodeTypes);
        else if (message.type === "answer") this.settle(message.id, (p) => p.resolve({ json: message.json, buffers: message.buffers }));
        else if (message.type === "fatal") {
          const err = new WorkerCrashedError(`executor worker ${index}: ${message.message}`);
          if (message.id === undefined) {
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
      (m) => this.post({ type: "init", module: m }),
      (err: unknown) => this.crash(new WorkerCrashedError(`executor worker ${index}: no WebAssembly module: ${String((err as Error)?.message ?? err)}`)),
    );
  }

  /** Resolves with the Rust node types once the runtime is instantiated. */
  ready(): Promise<string[]> {
    return this.readyPromise;
  }

  /** Requests in flight. */
  get load(): number {
    return this.pending.size;
  }

  /** Sends a request (transferring `transfer`) and resolves with the runtime's answer. */
  request(id: number, message: ToExecutor, transfer: Transferable[] = []): Promise<Answer> {
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

  /** Stops the worker; requests still held fail with WorkerCrashedError. */
  terminate(reason = "the worker was terminated"): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new WorkerCrashedError(reason));
    this.pending.clear();
  }

  private settle(id: number, action: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (p) {
      this.pending.delete(id);
      action(p);
    }
  }

  private crash(err: Error): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onCrash(this);
  }
}
