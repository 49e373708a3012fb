/**
 * Streaming sessions: node state that lives in one executor worker across `push` calls
 * until `close`, with outputs both as each push's answer and as an async iterable.
 */
import { isBlob, readBlob } from "./blob.js";
import { errorFromJson, SessionClosedError, WorkerCrashedError } from "./errors.js";
import type { ExecutorWorker } from "./pool/executor-worker.js";
import type { RuntimeAnswer, ToExecutor } from "./protocol/executor.js";
import type { SessionOutput } from "./types.js";
import { fromWire, toWire } from "./wire.js";
import type { InputItem } from "./wire.js";

/**
 * Sessions dropped without `close()`: once garbage-collected, their node state in the
 * worker is freed (`drop`) and their slot in the pool's balance given back.
 */
const sessionsDropped = new FinalizationRegistry<{ worker: ExecutorWorker; session: number; release: () => void }>(
  ({ worker, session, release }) => {
    release();
    worker.post({ type: "drop", session });
  },
);

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
  /** Stops listening for the worker's death and gives its slot back (once). */
  private release: () => void;

  /** @internal */
  constructor(
    private worker: ExecutorWorker,
    private session: number,
    private nextId: () => number,
  ) {
    const slot = worker.holdSession();
    // Only a weak reference from the worker: a session dropped without close() must
    // stay collectable, so `sessionsDropped` can free its node state in the worker.
    const weak = new WeakRef(this);
    const unsubscribe = worker.onDeath((err) => weak.deref()?.lose(err));
    this.release = () => {
      unsubscribe();
      slot();
    };
    sessionsDropped.register(this, { worker, session, release: this.release }, this);
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
    this.release();
    sessionsDropped.unregister(this);
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
