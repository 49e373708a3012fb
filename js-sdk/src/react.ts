/**
 * `@remotemedia/web/react`: the SDK as a React hook.
 *
 * ```tsx
 * const { rm, status, progress, error, python } = useRemoteMedia({ workers: 2 });
 * if (status === "ready") await rm!.run(manifest, [fileBytes]);
 * ```
 *
 * One pool per component, started after the first render (never on a server), and
 * terminated when the component unmounts. Under StrictMode, React runs effects twice
 * (mount, unmount, mount); the hook defers termination by one task, so the second
 * mount takes the same pool back and only one is ever started.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { emptyListenerView, reduceListenerView } from "./bindings/listener-state.js";
import { RemoteMedia } from "./index.js";
import type { Capabilities, CreateOptions, Listener, ListenOptions, LiveEvent, Manifest, ProgressEvent } from "./index.js";

/** `loading` until the pool is up, then `ready`; `error` if it could not start. */
export type RemoteMediaStatus = "loading" | "ready" | "error";

/** What {@link useRemoteMedia} returns. */
export interface RemoteMediaState {
  /** The SDK instance, once `status` is `ready`; null before and on error. */
  rm: RemoteMedia | null;
  status: RemoteMediaStatus;
  /** The latest start-up step (executor or Python), for a progress bar; null before the first. */
  progress: ProgressEvent | null;
  /** Why start-up failed (an SDK error such as AssetError or UnsupportedEnvironmentError), else null. */
  error: Error | null;
  /**
   * Python, apart from `status` (which is the executor's): `not started` until a manifest
   * needs it (or `python: true`), `starting` while Pyodide loads (the run that needs it
   * waits), `ready`, `failed`; `off` with `python: false`.
   */
  python: Capabilities["python"];
}

interface Lease {
  promise: Promise<RemoteMedia>;
  rm: RemoteMedia | null;
  /** A pending termination (the component unmounted, or StrictMode's simulated unmount). */
  timer: ReturnType<typeof setTimeout> | undefined;
  disposed: boolean;
}

/**
 * Starts a {@link RemoteMedia} pool for this component and terminates it on unmount.
 * `options` are read once, at mount (later changes are ignored: remount with a `key` to
 * apply new ones); `options.onProgress` is still called, besides `progress`.
 */
export function useRemoteMedia(options: CreateOptions = {}): RemoteMediaState {
  const [state, setState] = useState<RemoteMediaState>({
    rm: null,
    status: "loading",
    progress: null,
    error: null,
    python: options.python === false ? "off" : "not started",
  });
  const lease = useRef<Lease | null>(null);
  const initialOptions = useRef(options);

  useEffect(() => {
    let current = lease.current;
    if (current && current.timer !== undefined) {
      // Re-mounted before the termination ran (StrictMode): keep the same pool.
      clearTimeout(current.timer);
      current.timer = undefined;
    } else if (!current) {
      const opts = initialOptions.current;
      const onProgress = (event: ProgressEvent) => {
        opts.onProgress?.(event);
        setState((s) => ({ ...s, progress: event, python: event.python ?? s.python }));
      };
      const promise = RemoteMedia.create({ ...opts, onProgress });
      current = lease.current = { promise, rm: null, timer: undefined, disposed: false };
      const mine = current;
      promise.then(
        (rm) => {
          mine.rm = rm;
          if (mine.disposed) void rm.terminate();
          else setState((s) => ({ ...s, rm, status: "ready", error: null }));
        },
        (error: unknown) => {
          if (!mine.disposed)
            setState((s) => ({ ...s, rm: null, status: "error", error: error instanceof Error ? error : new Error(String(error)) }));
        },
      );
    }
    const mine = current;
    return () => {
      mine.timer = setTimeout(() => {
        mine.disposed = true;
        if (lease.current === mine) lease.current = null;
        void mine.rm?.terminate();
      }, 0);
    };
  }, []);

  return state;
}

/** What {@link useListener} returns. */
export interface ListenerState {
  /** `idle` before `start()` and after `stop()`; the listener's state in between. */
  state: "idle" | "starting" | Listener["state"];
  /** Whether an utterance is in progress (between `speech_start` and `speech_end`). */
  speaking: boolean;
  /** The level of the latest VAD frame, in dBFS (from `frame` events); null before one. */
  levelDb: number | null;
  /** The latest events other than `frame`, oldest first (at most `keep`). */
  events: LiveEvent[];
  /** The `speech_end` events, each with its utterance's `audio` (at most `keep`). */
  utterances: LiveEvent[];
  /** Why starting or listening failed (CaptureError, ManifestError, ...), else null. */
  error: Error | null;
  /** Opens the microphone and starts listening (call it from a user gesture: audio needs one). */
  start: () => Promise<void>;
  pause: () => void;
  resume: () => void;
  /** Stops listening and releases the microphone. */
  stop: () => Promise<void>;
  /** The running listener (for `setParams`, `stats()`), or null. */
  listener: Listener | null;
}

/**
 * Live audio for a component: `start()` runs {@link RemoteMedia.listen} with `manifest`
 * (both read when `start` is called) and the state follows its events; unmounting
 * destroys the listener (microphone, audio nodes, session). Under StrictMode the
 * simulated unmount is deferred by one task, as in {@link useRemoteMedia}, so a
 * listener survives it. `keep` bounds the event and utterance lists (default 100).
 */
export function useListener(rm: RemoteMedia | null, manifest: Manifest, options: ListenOptions & { keep?: number } = {}): ListenerState {
  const [view, setView] = useState<Omit<ListenerState, "start" | "pause" | "resume" | "stop">>({
    ...emptyListenerView(),
    state: "idle",
    error: null,
    listener: null,
  });
  const current = useRef<{ listener: Listener | null; timer?: ReturnType<typeof setTimeout>; generation: number }>({
    listener: null,
    generation: 0,
  });
  const latest = useRef({ rm, manifest, options });
  latest.current = { rm, manifest, options };

  const start = useCallback(async () => {
    const { rm, manifest, options } = latest.current;
    if (!rm || current.current.listener) return;
    const generation = ++current.current.generation;
    const keep = options.keep ?? 100;
    setView((v) => ({ ...v, state: "starting", error: null, events: [], utterances: [] }));
    const onEvent = (event: LiveEvent) => {
      options.onEvent?.(event);
      setView((v) => {
        const next = reduceListenerView(v, event, keep);
        return next === v ? v : { ...v, ...next };
      });
    };
    const onError = (error: Error) => setView((v) => ({ ...v, state: "failed", error }));
    try {
      const listener = await rm.listen(manifest, { ...options, onEvent, onError });
      if (generation !== current.current.generation) {
        void listener.destroy(); // stopped or unmounted while starting
        return;
      }
      current.current.listener = listener;
      setView((v) => ({ ...v, state: listener.state, listener }));
    } catch (error) {
      setView((v) => ({ ...v, state: "idle", error: error instanceof Error ? error : new Error(String(error)) }));
    }
  }, []);

  const stop = useCallback(async () => {
    current.current.generation++;
    const listener = current.current.listener;
    current.current.listener = null;
    await listener?.destroy();
    setView((v) => ({ ...v, state: "idle", speaking: false, listener: null }));
  }, []);

  const pause = useCallback(() => {
    current.current.listener?.pause();
    setView((v) => ({ ...v, state: current.current.listener?.state ?? v.state }));
  }, []);

  const resume = useCallback(() => {
    current.current.listener?.resume();
    setView((v) => ({ ...v, state: current.current.listener?.state ?? v.state }));
  }, []);

  useEffect(() => {
    const mine = current.current;
    if (mine.timer !== undefined) {
      clearTimeout(mine.timer); // StrictMode's re-mount: keep listening
      mine.timer = undefined;
    }
    return () => {
      mine.timer = setTimeout(() => {
        mine.timer = undefined;
        mine.generation++;
        void mine.listener?.destroy();
        mine.listener = null;
      }, 0);
    };
  }, []);

  return { ...view, start, pause, resume, stop };
}
