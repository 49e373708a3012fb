/**
 * Starting a worker whose script announces that it listens (`{ type: "loaded" }`, the
 * Python worker's PythonLoaded), with a second try when its load stalls.
 */
import { nextAttempt, spawnWorker } from "./assets.js";
import { timerDelay } from "./timers.js";

/** What {@link startAnnounced} calls back. */
export interface AnnouncedHandlers {
  /** How long the first load may take before it is given up (ms). */
  stallMs: number;
  /** The worker listens: send it its first message. */
  onLoaded(worker: Worker): void;
  /** The first load stalled; the script is being loaded again. */
  onStall(): void;
  /** The worker failed: its script did not load or threw (the error event's message). */
  onError(message: string): void;
}

/** A worker started by {@link startAnnounced}. */
export interface AnnouncedWorker {
  /** The worker now (after a stall, the second one). */
  readonly worker: Worker;
  /** Terminates it, with its handlers detached first, and stops waiting for it. */
  stop(): void;
}

/**
 * Starts `url` as a module worker named `name` (spawnWorker, which throws AssetError)
 * and calls `onLoaded` once it says it listens. A browser can stall a worker's start
 * without an error event (a Firefox 153 reload once never started Python, for 180 s;
 * where it stalled was not found). So a worker that has not said so after `stallMs` is
 * terminated and the script started again under another URL ({@link nextAttempt}). The
 * second load is waited for without a bound: a slow network is no stall. A URL without
 * another (`blob:`) is not tried again.
 */
export function startAnnounced(url: string, name: string, handlers: AnnouncedHandlers): AnnouncedWorker {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const launch = (from: string): Worker => {
    const worker = spawnWorker(from, name);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      handlers.onError(event.message || "script error");
    };
    worker.onmessage = (event: MessageEvent<{ type?: unknown }>) => {
      if (event.data?.type !== "loaded") return;
      worker.onmessage = null;
      clearTimeout(timer);
      handlers.onLoaded(worker);
    };
    return worker;
  };
  const detach = (worker: Worker) => {
    worker.onerror = null;
    worker.onmessage = null;
    worker.terminate();
  };
  let current = launch(url);
  const again = nextAttempt(url);
  if (again) {
    timer = setTimeout(() => {
      detach(current);
      handlers.onStall();
      try {
        current = launch(again);
      } catch (err) {
        handlers.onError(String((err as Error)?.message ?? err));
      }
    }, timerDelay(handlers.stallMs));
  }
  return {
    get worker() {
      return current;
    },
    stop() {
      clearTimeout(timer);
      detach(current);
    },
  };
}
