/**
 * `@remotemedia/web/react`: the SDK as a React hook.
 *
 * ```tsx
 * const { rm, status, progress, error } = useRemoteMedia({ workers: 2 });
 * if (status === "ready") await rm!.run(manifest, [fileBytes]);
 * ```
 *
 * One pool per component, started after the first render (never on a server), and
 * terminated when the component unmounts. Under StrictMode, React runs effects twice
 * (mount, unmount, mount); the hook defers termination by one task, so the second
 * mount takes the same pool back and only one is ever started.
 */
import { useEffect, useRef, useState } from "react";
import { RemoteMedia } from "./index.js";
import type { CreateOptions, ProgressEvent } from "./index.js";

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
  const [state, setState] = useState<RemoteMediaState>({ rm: null, status: "loading", progress: null, error: null });
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
        setState((s) => ({ ...s, progress: event }));
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
          if (!mine.disposed) setState((s) => ({ ...s, rm: null, status: "error", error: error instanceof Error ? error : new Error(String(error)) }));
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
