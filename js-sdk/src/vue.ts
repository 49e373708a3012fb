/**
 * `@remotemedia/web/vue`: the SDK as a Vue composable.
 *
 * ```ts
 * const { rm, status, progress, error } = useRemoteMedia({ workers: 2 });
 * // in a handler: if (status.value === "ready") await rm.value!.run(manifest, [fileBytes]);
 * ```
 *
 * Call it in `setup()`. The pool starts when the component is mounted (never during
 * server-side rendering) and is terminated when its scope is disposed (unmount).
 */
import { getCurrentScope, onMounted, onScopeDispose, shallowRef } from "vue";
import type { ShallowRef } from "vue";
import { RemoteMedia } from "./index.js";
import type { CreateOptions, ProgressEvent } from "./index.js";

/** `loading` until the pool is up, then `ready`; `error` if it could not start. */
export type RemoteMediaStatus = "loading" | "ready" | "error";

/** What {@link useRemoteMedia} returns: refs that update as the pool starts. */
export interface RemoteMediaRefs {
  /** The SDK instance, once `status` is `ready`; null before and on error. */
  rm: ShallowRef<RemoteMedia | null>;
  status: ShallowRef<RemoteMediaStatus>;
  /** The latest start-up step (executor or Python), for a progress bar; null before the first. */
  progress: ShallowRef<ProgressEvent | null>;
  /** Why start-up failed (an SDK error such as AssetError or UnsupportedEnvironmentError), else null. */
  error: ShallowRef<Error | null>;
}

/**
 * Starts a {@link RemoteMedia} pool when the calling component mounts and terminates it
 * when the component's scope is disposed. `options` are read once, at mount;
 * `options.onProgress` is still called, besides `progress`. Throws if called outside
 * `setup()` (there would be nothing to end the pool).
 */
export function useRemoteMedia(options: CreateOptions = {}): RemoteMediaRefs {
  if (!getCurrentScope()) throw new Error("useRemoteMedia() must be called inside setup() (or an effect scope)");
  const rm = shallowRef<RemoteMedia | null>(null);
  const status = shallowRef<RemoteMediaStatus>("loading");
  const progress = shallowRef<ProgressEvent | null>(null);
  const error = shallowRef<Error | null>(null);
  let disposed = false;
  let starting: Promise<RemoteMedia> | null = null;

  onMounted(() => {
    const onProgress = (event: ProgressEvent) => {
      options.onProgress?.(event);
      progress.value = event;
    };
    starting = RemoteMedia.create({ ...options, onProgress });
    starting.then(
      (instance) => {
        if (disposed) {
          void instance.terminate();
          return;
        }
        rm.value = instance;
        status.value = "ready";
      },
      (err: unknown) => {
        if (disposed) return;
        error.value = err instanceof Error ? err : new Error(String(err));
        status.value = "error";
      },
    );
  });

  onScopeDispose(() => {
    disposed = true;
    rm.value = null;
    starting?.then(
      (instance) => instance.terminate(),
      () => undefined,
    );
  });

  return { rm, status, progress, error };
}
