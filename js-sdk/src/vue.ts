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
import { getCurrentScope, onMounted, onScopeDispose, shallowRef, unref } from "vue";
import type { Ref, ShallowRef } from "vue";
import { emptyListenerView, reduceListenerView } from "./bindings/listener-state.js";
import type { ListenerView } from "./bindings/listener-state.js";
import { RemoteMedia } from "./index.js";
import type { Capabilities, CreateOptions, Listener, ListenOptions, LiveEvent, Manifest, ProgressEvent } from "./index.js";

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
  /** Python, apart from `status` (the executor's): `not started`, `starting`, `ready`, `failed`, or `off`. */
  python: ShallowRef<Capabilities["python"]>;
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
  const python = shallowRef<Capabilities["python"]>(options.python === false ? "off" : "not started");
  let disposed = false;
  let starting: Promise<RemoteMedia> | null = null;

  onMounted(() => {
    const onProgress = (event: ProgressEvent) => {
      options.onProgress?.(event);
      progress.value = event;
      if (event.python) python.value = event.python;
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

  return { rm, status, progress, error, python };
}

/** What {@link useListener} returns: refs that follow the listener, and its controls. */
export interface ListenerRefs {
  /** `idle` before `start()` and after `stop()`; the listener's state in between. */
  state: ShallowRef<"idle" | "starting" | Listener["state"]>;
  /** Whether an utterance is in progress (between `speech_start` and `speech_end`). */
  speaking: ShallowRef<boolean>;
  /** The level of the latest VAD frame, in dBFS (from `frame` events); null before one. */
  levelDb: ShallowRef<number | null>;
  /** The latest events other than `frame`, oldest first (at most `keep`). */
  events: ShallowRef<LiveEvent[]>;
  /** The `speech_end` events, each with its utterance's `audio` (at most `keep`). */
  utterances: ShallowRef<LiveEvent[]>;
  /** Why starting or listening failed (CaptureError, ManifestError, ...), else null. */
  error: ShallowRef<Error | null>;
  /** The running listener (for `setParams`, `stats()`), or null. */
  listener: ShallowRef<Listener | null>;
  /** Opens the microphone and starts listening (call it from a user gesture: audio needs one). */
  start: () => Promise<void>;
  pause: () => void;
  resume: () => void;
  /** Stops listening and releases the microphone. */
  stop: () => Promise<void>;
}

/**
 * Live audio for a component: `start()` runs {@link RemoteMedia.listen} on `rm` (a ref,
 * such as the one {@link useRemoteMedia} returns) with `manifest` (a value or a ref, read
 * when `start` is called); the refs follow its
 * events, and disposing the component's scope destroys the listener (microphone, audio
 * nodes, session). `keep` bounds the event and utterance lists (default 100).
 */
export function useListener(
  rm: Ref<RemoteMedia | null>,
  manifest: Manifest | Ref<Manifest | null>,
  options: ListenOptions & { keep?: number } = {},
): ListenerRefs {
  if (!getCurrentScope()) throw new Error("useListener() must be called inside setup() (or an effect scope)");
  const keep = options.keep ?? 100;
  const refs = {
    state: shallowRef<"idle" | "starting" | Listener["state"]>("idle"),
    speaking: shallowRef(false),
    levelDb: shallowRef<number | null>(null),
    events: shallowRef<LiveEvent[]>([]),
    utterances: shallowRef<LiveEvent[]>([]),
    error: shallowRef<Error | null>(null),
    listener: shallowRef<Listener | null>(null),
  };
  let generation = 0;

  // The shared reducer's view; each ref is set only when its part changed.
  let view: ListenerView = emptyListenerView();
  const show = (next: ListenerView) => {
    if (next.speaking !== view.speaking) refs.speaking.value = next.speaking;
    if (next.levelDb !== view.levelDb) refs.levelDb.value = next.levelDb;
    if (next.events !== view.events) refs.events.value = next.events;
    if (next.utterances !== view.utterances) refs.utterances.value = next.utterances;
    view = next;
  };
  const onEvent = (event: LiveEvent) => {
    options.onEvent?.(event);
    show(reduceListenerView(view, event, keep));
  };

  const start = async () => {
    const wanted = unref(manifest);
    if (!rm.value || !wanted || refs.listener.value) return;
    const mine = ++generation;
    refs.state.value = "starting";
    refs.error.value = null;
    show({ ...view, events: [], utterances: [] });
    try {
      const listener = await rm.value.listen(wanted, {
        ...options,
        onEvent,
        onError: (error) => {
          refs.state.value = "failed";
          refs.error.value = error;
        },
      });
      if (mine !== generation) {
        void listener.destroy(); // stopped or disposed while starting
        return;
      }
      refs.listener.value = listener;
      refs.state.value = listener.state;
    } catch (error) {
      refs.state.value = "idle";
      refs.error.value = error instanceof Error ? error : new Error(String(error));
    }
  };

  const stop = async () => {
    generation++;
    const listener = refs.listener.value;
    refs.listener.value = null;
    await listener?.destroy();
    refs.state.value = "idle";
    show({ ...view, speaking: false });
  };

  onScopeDispose(() => void stop());

  return {
    ...refs,
    start,
    pause: () => {
      refs.listener.value?.pause();
      if (refs.listener.value) refs.state.value = refs.listener.value.state;
    },
    resume: () => {
      refs.listener.value?.resume();
      if (refs.listener.value) refs.state.value = refs.listener.value.state;
    },
    stop,
  };
}
