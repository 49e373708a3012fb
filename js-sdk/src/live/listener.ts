/**
 * Live audio: the microphone (or a stream the app gives) captured in an AudioWorklet
 * and fed to a streaming session of a manifest, with what the session produces
 * delivered as events as soon as it is produced.
 *
 * The audio path is worklet -> executor worker over a MessagePort (chunks of float32,
 * transferred); the main thread only receives events. Times are stream time: seconds
 * of audio captured since the start (paused time excluded), the same clock as a batch
 * run over the recorded audio.
 */
import { errorFromJson, RemoteMediaError, WorkerCrashedError } from "../errors.js";
import type { ExecutorWorker } from "../pool/executor-worker.js";
import type { CaptureControl } from "../protocol/capture.js";
import type { LiveStep, ToExecutor } from "../protocol/executor.js";
import type { NodeOutputs } from "../nodes.js";
import { fromWire, type OutputItem } from "../wire.js";

/** Options of {@link RemoteMedia.listen}. */
export interface ListenOptions {
  /** A MediaStream to capture instead of asking for the microphone (its tracks stay yours). */
  stream?: MediaStream;
  /** A source node to capture (in its own AudioContext; it stays yours). */
  source?: MediaStreamAudioSourceNode;
  /** The AudioContext to capture in (it stays yours); default a new one, closed by `destroy()`. */
  audioContext?: AudioContext;
  /**
   * `getUserMedia` audio constraints when the SDK opens the microphone. Default: mono,
   * with the browser's echo cancellation, noise suppression and automatic gain control
   * off, so the pipeline hears what a recording of the microphone would hold (and a
   * batch run over that recording gives the same events).
   */
  constraints?: MediaTrackConstraints;
  /** Audio per chunk sent to the executor, in ms (default 10; at least one 128-frame render quantum). */
  chunkMs?: number;
  /** Every event, as it arrives. */
  onEvent?: (event: LiveEvent) => void;
  /** The session failed (a node error) or its worker died; the listener has stopped. */
  onError?: (error: RemoteMediaError) => void;
}

/** What every live event has: its stream time `t` in seconds and the sink node that produced it. */
export interface LiveEventBase {
  /** Stream time, in seconds (the item's `end`, else `start`, else the end of the audio pushed). */
  t: number;
  /** The sink node that produced it. */
  node: string;
}

type SpeechEvents = NodeOutputs["SpeechEventsNode"];
/** A JSON event of `SpeechEventsNode`, by name (its fields as the node catalog declares them). */
type SpeechJson<E extends string> = Extract<SpeechEvents, { event: E }>;
/** The fields of an audio event of `SpeechEventsNode` (`metadata[event]`). */
type SpeechAudio<E extends "speech_end" | "speech_chunk"> = Extract<SpeechEvents, { metadata: { event: E } }>["metadata"][E];
/** An event that carries audio: mono float32 at `sampleRate` Hz. */
interface WithAudio {
  audio: Float32Array;
  sampleRate: number;
}

/**
 * One output of the live session, discriminated by `event`: the item's `event` field
 * (`SpeechEventsNode`'s `speech_start`, `speech_end`, `speech_chunk`, `misfire`,
 * `frame`; `SilenceDetectorNode`'s `silence`/`sound`; `ClippingDetectorNode`'s
 * `clipping`/`clean`), or `"output"` for items without one (then `data` holds the
 * item). `speech_end` and `speech_chunk` carry the utterance's audio. The fields are the
 * node catalog's (`NodeOutputs`). A Python node of the app's own that emits items with
 * other `event` names: list them in `Custom` (`LiveEvent<"my_event">`) to get them typed
 * as {@link CustomLiveEvent}s.
 */
export type LiveEvent<Custom extends string = never> =
  | (LiveEventBase & SpeechJson<"speech_start">)
  | (LiveEventBase & SpeechJson<"misfire">)
  | (LiveEventBase & SpeechJson<"frame">)
  | (LiveEventBase & WithAudio & { event: "speech_end" } & SpeechAudio<"speech_end">)
  | (LiveEventBase & WithAudio & { event: "speech_chunk" } & SpeechAudio<"speech_chunk">)
  | (LiveEventBase & NodeOutputs["SilenceDetectorNode"])
  | (LiveEventBase & NodeOutputs["ClippingDetectorNode"])
  | (LiveEventBase & { event: "output"; data: OutputItem; audio?: Float32Array; sampleRate?: number })
  | CustomLiveEvent<Custom>;

/** An event named by a node of the app's own: its item's fields, untyped. */
export type CustomLiveEvent<Name extends string> = LiveEventBase & {
  event: Name;
  audio?: Float32Array;
  sampleRate?: number;
  [field: string]: unknown;
};

/** Figures of a listener so far. */
export interface ListenerStats {
  state: Listener["state"];
  /** Capture sample rate, in Hz (the AudioContext's). */
  sampleRate: number;
  /** Frames the worklet captured (known once stopped), and frames the executor received. */
  framesCaptured: number | null;
  framesReceived: number;
  /** Frames missing from, or repeated in, the chunk sequence the executor received. */
  gaps: number;
  repeats: number;
  /** Seconds of audio received. */
  seconds: number;
  /** Session steps run. */
  steps: number;
  /**
   * Capture of a VAD frame's last sample (its arrival in the executor worker) to its
   * `frame` event reaching the page, in ms.
   */
  latencyMs: { p50: number | null; p95: number | null; count: number };
  /** Main-thread time spent handling events, in ms. */
  mainThreadMs: number;
}

/** What a {@link Listener} was built from, and which of those it must release. */
export interface ListenerParts {
  worker: ExecutorWorker;
  session: number;
  nextId: () => number;
  context: AudioContext;
  ownsContext: boolean;
  stream: MediaStream | null;
  ownsStream: boolean;
  source: MediaStreamAudioSourceNode;
  ownsSource: boolean;
  node: AudioWorkletNode;
  options: ListenOptions;
}

/** How long `stop()` waits for the executor to flush the session, in ms. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * A live capture feeding a streaming session. Events go to `onEvent` and to handlers
 * added with {@link Listener.on}. `pause()` / `resume()` stop and restart capture
 * (stream time does not advance while paused); `stop()` flushes the session and
 * resolves with the events that came after it was called; `destroy()` also releases
 * the microphone tracks, audio nodes, ports and AudioContext the listener created.
 */
export class Listener {
  /** `suspended` while the AudioContext waits for a user gesture (call `audioContext.resume()` in one). */
  state: "listening" | "paused" | "suspended" | "stopping" | "stopped" | "failed" | "destroyed" = "listening";
  private handlers = new Map<string, Set<(event: LiveEvent) => void>>();
  private latencies: number[] = [];
  private received = { received: 0, gaps: 0, repeats: 0 };
  private rate = 0;
  private captured: number | null = null;
  private steps = 0;
  private mainThreadMs = 0;
  private stopping: Promise<LiveEvent[]> | null = null;
  private afterStop: LiveEvent[] | null = null;
  private closed!: (error: RemoteMediaError | null) => void;
  private closedPromise: Promise<RemoteMediaError | null>;
  private unsubscribe: (() => void)[] = [];
  private released = false;

  /** @internal */
  constructor(private parts: ListenerParts) {
    this.closedPromise = new Promise((resolve) => (this.closed = resolve));
    const { worker, session, node, context } = parts;
    this.rate = context.sampleRate;
    this.unsubscribe.push(worker.holdSession());
    this.unsubscribe.push(worker.onLive(session, (step) => this.onStep(step)));
    this.unsubscribe.push(worker.onDeath((err) => this.fail(new WorkerCrashedError(`the live session was lost: ${err.message}`))));
    node.port.onmessage = (event: MessageEvent<{ type: string; frames: number }>) => {
      if (event.data?.type === "stopped") this.captured = event.data.frames;
    };
    if (context.state !== "running") this.state = "suspended";
    context.addEventListener("statechange", this.onContextState);
  }

  /** The AudioContext capturing (resume it in a user gesture if `state` is `suspended`). */
  get audioContext(): AudioContext {
    return this.parts.context;
  }

  private onContextState = () => {
    if (this.state === "suspended" && this.parts.context.state === "running") this.state = "listening";
    else if (this.state === "listening" && this.parts.context.state === "suspended") this.state = "suspended";
  };

  /** Calls `handler` for events named `event` (`"*"`: every event); returns a function that removes it. */
  on(event: string, handler: (event: LiveEvent) => void): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Stops capturing; the session keeps its state. */
  pause(): void {
    if (this.state !== "listening" && this.state !== "suspended") return;
    this.control({ type: "pause" });
    this.state = "paused";
  }

  /** Captures again after `pause()`; stream time continues where it paused. */
  resume(): void {
    if (this.state !== "paused") return;
    this.control({ type: "resume" });
    this.state = this.parts.context.state === "running" ? "listening" : "suspended";
  }

  /**
   * Changes parameters of node `nodeId` while listening (for example `SpeechEventsNode`'s
   * `min_speech_ms`); they apply from the next chunk. Rejects with ManifestError (the
   * problem names `nodes[i].params.<name>`) for an unknown node or parameter, a bad
   * value, or a node whose parameters are fixed; the session goes on either way.
   */
  async setParams(nodeId: string, params: Record<string, unknown>): Promise<void> {
    if (this.released || this.state === "stopped" || this.state === "failed") throw new RemoteMediaError("the listener has stopped");
    const id = this.parts.nextId();
    const message: ToExecutor = { type: "configure", id, session: this.parts.session, node: nodeId, params };
    const answer = (await this.parts.worker.request(id, message)).result;
    if (answer.status !== "success") throw errorFromJson(answer.error as Record<string, unknown>);
  }

  /**
   * Stops capturing, flushes the session (an utterance in progress ends) and resolves
   * with the events that arrived after the call. Rejects with the session's error if it
   * failed. Capture resources stay until `destroy()`.
   */
  stop(): Promise<LiveEvent[]> {
    if (this.stopping) return this.stopping;
    this.afterStop = [];
    const events = this.afterStop;
    this.state = "stopping";
    this.control({ type: "stop" });
    this.stopping = new Promise<LiveEvent[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new RemoteMediaError(`the session did not close within ${STOP_TIMEOUT_MS} ms of stop()`));
      }, STOP_TIMEOUT_MS);
      void this.closedPromise.then((error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(events);
      });
    });
    this.stopping.catch(() => {});
    return this.stopping;
  }

  /**
   * Stops (if running) and releases everything the listener created: the microphone's
   * tracks, the audio nodes, the ports, and the AudioContext. Never rejects.
   */
  async destroy(): Promise<void> {
    if (this.state !== "failed" && this.state !== "destroyed") await this.stop().catch(() => []);
    this.release();
    this.state = "destroyed";
  }

  /** Figures so far (latency, frames in and out, main-thread time). */
  stats(): ListenerStats {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
    return {
      state: this.state,
      sampleRate: this.rate,
      framesCaptured: this.captured,
      framesReceived: this.received.received,
      gaps: this.received.gaps,
      repeats: this.received.repeats,
      seconds: this.rate ? this.received.received / this.rate : 0,
      steps: this.steps,
      latencyMs: { p50: at(0.5), p95: at(0.95), count: sorted.length },
      mainThreadMs: this.mainThreadMs,
    };
  }

  private control(message: CaptureControl): void {
    if (!this.released) this.parts.node.port.postMessage(message);
  }

  private onStep(step: LiveStep): void {
    const t0 = performance.now();
    this.steps++;
    this.received = step.stats;
    if (step.result.status !== "success") {
      this.fail(errorFromJson(step.result.error as Record<string, unknown>));
      return;
    }
    const outputs = (step.result.outputs ?? []) as { node_id: string; data: unknown }[];
    const windowEnd = step.window.rate > 0 ? step.window.end / step.window.rate : this.received.received / (this.rate || 1);
    const now = performance.timeOrigin + performance.now();
    for (const o of outputs) {
      const event = toEvent(o.node_id, fromWire(o.data, step.buffers), windowEnd);
      if (event.event === "frame" && step.window.rate > 0 && event.t <= windowEnd + 1e-6) {
        // The frame's last sample reached the worker (windowEnd - t) s before the step's last chunk did.
        this.latencies.push(now - (step.capturedAt - (windowEnd - event.t) * 1000));
        if (this.latencies.length > 100_000) this.latencies.splice(0, 50_000);
      }
      this.emit(event);
    }
    this.mainThreadMs += performance.now() - t0;
    if (step.closed) {
      this.state = "stopped";
      this.closed(null);
    }
  }

  private emit(event: LiveEvent): void {
    this.afterStop?.push(event);
    try {
      this.parts.options.onEvent?.(event);
      for (const name of [event.event, "*"]) for (const h of this.handlers.get(name) ?? []) h(event);
    } catch (err) {
      // An app handler that throws must not stop the stream.
      setTimeout(() => {
        throw err;
      });
    }
  }

  private fail(error: RemoteMediaError): void {
    if (this.state === "stopped" || this.state === "failed" || this.state === "destroyed") return;
    this.state = "failed";
    this.parts.options.onError?.(error);
    this.closed(error);
    this.release();
  }

  /** Gives back everything this listener created; what the app passed in stays. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    const { worker, session, context, node, source, stream } = this.parts;
    for (const u of this.unsubscribe) u(); // listeners, and this session's slot in the worker's load
    context.removeEventListener("statechange", this.onContextState);
    if (this.state !== "stopped") worker.post({ type: "drop", session });
    node.port.postMessage({ type: "stop" } satisfies CaptureControl); // its processor ends
    node.port.onmessage = null;
    node.port.close();
    try {
      source.disconnect(node);
    } catch {
      // already disconnected
    }
    if (this.parts.ownsSource) source.disconnect();
    if (this.parts.ownsStream) for (const track of stream?.getTracks() ?? []) track.stop();
    if (this.parts.ownsContext && context.state !== "closed") void context.close().catch(() => {});
  }
}

/** A session output as a {@link LiveEvent}. */
function toEvent(node: string, item: unknown, streamTime: number): LiveEvent {
  const time = (fields: Record<string, unknown>) => {
    for (const key of ["end", "start", "t"]) if (typeof fields[key] === "number") return fields[key] as number;
    return streamTime;
  };
  if (typeof item === "object" && item !== null && !Array.isArray(item)) {
    const record = item as Record<string, unknown>;
    if (record.audio instanceof Float32Array) {
      const metadata = (record.metadata ?? {}) as Record<string, unknown>;
      const name = typeof metadata.event === "string" ? metadata.event : "output";
      const fields = (typeof metadata[name] === "object" && metadata[name] !== null ? metadata[name] : {}) as Record<string, unknown>;
      // The runtime's items have their catalog shapes (checked in its tests).
      return {
        ...fields,
        t: time(fields),
        node,
        event: name,
        audio: record.audio,
        sampleRate: record.sampleRate as number,
        ...(name === "output" ? { data: item } : {}),
      } as LiveEvent;
    }
    if (typeof record.event === "string") return { ...record, t: time(record), node, event: record.event } as LiveEvent;
  }
  return { t: streamTime, node, event: "output", data: item };
}
