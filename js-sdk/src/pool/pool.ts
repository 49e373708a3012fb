/**
 * The executor pool: the workers, which one takes a request (the least loaded), their
 * replacement when one dies or is abandoned, what each has been given (manifests by id,
 * model files), and the retry rule for runs that failed through no fault of their own.
 */
import { errorFromJson, RemoteMediaError, WorkerCrashedError } from "../errors.js";
import type { PreparedManifest } from "../manifest/cache.js";
import type { ExecutorInit, ManifestObject, RuntimeAnswer } from "../protocol/executor.js";
import { ExecutorWorker } from "./executor-worker.js";

/** How a pool starts its workers and what it tells its owner. */
export interface PoolSetup {
  /** The executor, compiled once (it may still be compiling while workers load). */
  module: Promise<WebAssembly.Module>;
  /** The executor worker script's URL. */
  scriptURL: string;
  /** What each worker starts with: the executor's limits, the servers' token. */
  init: ExecutorInit;
  /** Called for each new worker, first ones and replacements (Python connects it). */
  onSpawn: (worker: ExecutorWorker) => void;
  /** Called for each worker replaced (Python releases what it held). */
  onReplace: (dead: ExecutorWorker) => void;
}

/**
 * Whether a run that failed with `err` on its `attempt`th try is tried once more on a
 * fresh worker: only when another run crashed or stopped its worker (`innocent`), on
 * the first try, and not when its inputs were transferred (they went with the dead
 * worker).
 */
export function retryable(err: unknown, attempt: number, transferredInputs: boolean): boolean {
  return err instanceof WorkerCrashedError && err.innocent && attempt === 1 && !transferredInputs;
}

export class ExecutorPool {
  private workers: ExecutorWorker[] = [];
  private terminated = false;
  private nextRequest = 1;

  constructor(private setup: PoolSetup) {}

  /** Starts `count` workers; resolves when each has instantiated the executor. Rejects with WorkerCrashedError. */
  start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.workers.push(this.spawn(i));
    return Promise.all(this.workers.map((w) => w.ready())).then(() => undefined);
  }

  /** The workers running now. */
  get all(): readonly ExecutorWorker[] {
    return this.workers;
  }

  /** A new request id (unique per pool: runs, sessions, pushes, live steps). */
  nextId(): number {
    return this.nextRequest++;
  }

  private spawn(index: number): ExecutorWorker {
    const { module, scriptURL, init } = this.setup;
    const worker = new ExecutorWorker(index, module, (dead) => this.replace(dead), scriptURL, init);
    this.setup.onSpawn(worker);
    return worker;
  }

  /** Replaces a stopped (or abandoned) worker with a new one at the same index. */
  replace(dead: ExecutorWorker): void {
    if (this.terminated) return;
    this.setup.onReplace(dead);
    const at = this.workers.indexOf(dead);
    if (at >= 0) this.workers[at] = this.spawn(dead.index);
  }

  /** The least-loaded worker; RemoteMediaError once terminated (a run racing `terminate()`). */
  pick(): ExecutorWorker {
    if (this.terminated || this.workers.length === 0) throw new RemoteMediaError("this RemoteMedia instance was terminated");
    return this.workers.reduce((best, w) => (w.load < best.load ? w : best));
  }

  /**
   * The manifest fields of a request to `worker`: the body only the first time it sees the
   * id. Model files the manifest needs go first, once per worker (messages keep their order).
   */
  deliver(worker: ExecutorWorker, prepared: PreparedManifest): { manifest: number; body?: ManifestObject } {
    for (const [file, bytes] of prepared.models) {
      if (worker.models.has(file)) continue;
      worker.models.add(file);
      worker.post({ type: "model", file, bytes });
    }
    if (worker.manifests.has(prepared.id)) return { manifest: prepared.id };
    worker.manifests.add(prepared.id);
    return { manifest: prepared.id, body: prepared.body };
  }

  /** Tells every worker that knows manifest `id` to drop it (the cache forgot it). */
  forget(id: number): void {
    for (const w of this.workers) {
      if (w.manifests.delete(id)) w.post({ type: "forget", manifest: id });
    }
  }

  /** The typed error of an error answer; a manifest the worker refused is not kept there. */
  failure(worker: ExecutorWorker, prepared: PreparedManifest, answer: RuntimeAnswer): Error {
    const error = answer.error as Record<string, unknown>;
    if (error?.kind === "manifest") worker.manifests.delete(prepared.id);
    return errorFromJson(error);
  }

  /**
   * Opens a streaming session of `prepared` on the least-loaded worker: its node state
   * lives there. Rejects with the runtime's error (ManifestError, NodeError) or
   * WorkerCrashedError.
   */
  async openSession(prepared: PreparedManifest): Promise<{ worker: ExecutorWorker; session: number }> {
    const worker = this.pick();
    const id = this.nextId();
    const answer = (await worker.request(id, { type: "open", id, ...this.deliver(worker, prepared) })).result;
    if (answer.status !== "success") throw this.failure(worker, prepared, answer);
    return { worker, session: Number(answer.session) };
  }

  /** Stops every worker; pending requests reject with WorkerCrashedError. */
  terminate(reason: string): void {
    this.terminated = true;
    for (const w of this.workers) w.terminate(reason);
    this.workers = [];
  }
}
