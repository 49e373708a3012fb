/// <reference lib="webworker" />
/**
 * Live sessions in the executor worker: audio chunks arrive from the capture worklet
 * on a MessagePort (never through the main thread), are pushed into the session as
 * float32 (`pushAudio`: one copy into wasm memory, no base64), and what each step
 * produces goes to the page at once, its payloads transferred (`LiveStep`).
 *
 * Steps of one session run one at a time, in order (`inOrder`): chunks that arrive
 * while a step runs are pushed together in the next one, so a worker that falls
 * behind catches up in bigger steps instead of queueing without end. Parameter
 * changes (`configure`) take their turn in the same order.
 */
import type { WorkerRuntime } from "../../../wasm/remotemedia_worker.js";
import type { CaptureChunk, CaptureEnd } from "../../protocol/capture.js";
import type { LiveStep, RuntimeAnswer } from "../../protocol/executor.js";

declare const self: DedicatedWorkerGlobalScope;

type Transferred = { result: RuntimeAnswer; buffers: Uint8Array[] };

const chains = new Map<number, Promise<unknown>>();

/** Runs `step` after every earlier step of `session`; resolves with its value. */
export function inOrder<T>(session: number, step: () => Promise<T>): Promise<T> {
  const next = (chains.get(session) ?? Promise.resolve()).then(step, step);
  const settled = next.catch(() => undefined);
  chains.set(session, settled);
  void settled.then(() => {
    if (chains.get(session) === settled) chains.delete(session);
  });
  return next;
}

/** Epoch milliseconds, comparable with the page's `performance.timeOrigin + performance.now()`. */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Feeds session `session` from the capture port until the worklet says `end`, then
 * closes it. `request` tags the steps (Python calls carry it).
 */
export function listen(rt: WorkerRuntime, request: number, session: number, port: MessagePort): void {
  const queue: (CaptureChunk & { arrivedAt: number })[] = [];
  let expected = 0;
  const stats = { received: 0, gaps: 0, repeats: 0 };
  let ending = false;
  let closed = false;
  let scheduled = false;

  const post = (step: Transferred, window: LiveStep["window"], capturedAt: number, last: boolean) => {
    const message: LiveStep = {
      type: "live",
      session,
      result: step.result,
      buffers: step.buffers,
      window,
      capturedAt,
      stats: { ...stats },
      closed: last,
    };
    self.postMessage(
      message,
      step.buffers.map((b) => b.buffer as ArrayBuffer),
    );
  };

  const drain = async () => {
    scheduled = false;
    while (queue.length > 0 && !closed) {
      const chunks = queue.splice(0);
      const rate = chunks[0].sampleRate;
      const start = chunks[0].start;
      for (const c of chunks) {
        if (c.start > expected) stats.gaps += c.start - expected;
        if (c.start < expected) stats.repeats += expected - c.start;
        expected = c.start + c.samples.length;
        stats.received += c.samples.length;
      }
      const samples = chunks.length === 1 ? chunks[0].samples : concat(chunks.map((c) => c.samples));
      const step = (await rt.pushAudio(request, session, samples, rate, 1)) as Transferred;
      post(step, { start, end: expected, rate }, chunks[chunks.length - 1].arrivedAt, false);
      if (step.result.status !== "success") return finish(); // the session failed: nothing more to push
    }
    if (ending && !closed) {
      closed = true;
      port.close();
      const step = (await rt.closeTransfer(request, session)) as Transferred;
      post(step, { start: expected, end: expected, rate: 0 }, epochMs(), true);
    }
  };

  const finish = () => {
    closed = true;
    port.close();
  };

  const schedule = () => {
    if (scheduled || closed) return;
    scheduled = true;
    void inOrder(session, drain);
  };

  port.onmessage = (event: MessageEvent<CaptureChunk | CaptureEnd>) => {
    const m = event.data;
    if (m?.type === "audio" && m.samples instanceof Float32Array && Number.isSafeInteger(m.start) && m.start >= 0) {
      queue.push({ ...m, arrivedAt: epochMs() });
      schedule();
    } else if (m?.type === "end") {
      ending = true;
      schedule();
    }
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
