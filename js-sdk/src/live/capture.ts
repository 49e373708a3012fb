/**
 * The capture graph of `listen`: the microphone (or the app's stream or source node) ->
 * the capture AudioWorklet -> an executor worker's session, over a MessagePort the
 * worklet and the worker share (audio never crosses the main thread).
 */
import { CaptureError, RemoteMediaError, UnsupportedEnvironmentError } from "../errors.js";
import type { PreparedManifest } from "../manifest/cache.js";
import type { ExecutorPool } from "../pool/pool.js";
import type { CaptureControl } from "../protocol/capture.js";
import { Listener } from "./listener.js";
import type { ListenOptions } from "./listener.js";

/** Throws UnsupportedEnvironmentError where there is no Web Audio API with AudioWorklet. */
export function assertCaptureSupported(): void {
  if (typeof AudioWorkletNode !== "function" || typeof AudioContext !== "function") {
    throw new UnsupportedEnvironmentError("listen() needs the Web Audio API with AudioWorklet (a browser page, over https or localhost)");
  }
}

/**
 * Captures audio and feeds a streaming session of `prepared` on the least-loaded worker
 * of `pool`; `workletURL` is the capture worklet's script. Rejects with CaptureError
 * (microphone refused or missing, no AudioWorklet, a bad `chunkMs`),
 * UnsupportedEnvironmentError outside a browser, or the session's error; whatever it
 * opened is released when it rejects.
 */
export async function startListening(
  pool: ExecutorPool,
  prepared: PreparedManifest,
  workletURL: string,
  options: ListenOptions,
): Promise<Listener> {
  assertCaptureSupported();
  const context =
    (options.source?.context as AudioContext | undefined) ?? options.audioContext ?? new AudioContext({ latencyHint: "interactive" });
  const ownsContext = !options.source && !options.audioContext;
  let stream: MediaStream | null = options.stream ?? null;
  let ownsStream = false;
  let source: MediaStreamAudioSourceNode | null = options.source ?? null;
  let node: AudioWorkletNode | null = null;
  try {
    if (!source && !stream) {
      stream = await openMicrophone(options.constraints);
      ownsStream = true;
    }
    await addCaptureModule(context, workletURL);
    source ??= context.createMediaStreamSource(stream!);
    const chunkMs = options.chunkMs ?? 10;
    if (!(Number.isFinite(chunkMs) && chunkMs > 0 && chunkMs <= 10_000))
      throw new CaptureError(`chunkMs must be from 0 to 10000 ms, got ${String(chunkMs)}`);
    const chunkFrames = Math.max(128, Math.round((context.sampleRate * chunkMs) / 1000));
    node = new AudioWorkletNode(context, "remotemedia-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit",
      channelInterpretation: "speakers",
      processorOptions: { chunkFrames },
    });
    const { worker, session } = await pool.openSession(prepared);
    const channel = new MessageChannel();
    worker.post({ type: "listen", id: pool.nextId(), session, port: channel.port2 }, [channel.port2]);
    node.port.postMessage({ type: "connect", port: channel.port1 } satisfies CaptureControl, [channel.port1]);
    source.connect(node);
    const listener = new Listener({
      worker,
      session,
      nextId: () => pool.nextId(),
      context,
      ownsContext,
      stream,
      ownsStream,
      source,
      ownsSource: !options.source,
      node,
      options,
    });
    // Autoplay rules may keep a new context suspended until a user gesture: then the
    // listener says "suspended" and starts when the app resumes `audioContext`.
    if (context.state === "suspended") await Promise.race([context.resume().catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
    return listener;
  } catch (err) {
    node?.port.close();
    if (!options.source) source?.disconnect();
    if (ownsStream) for (const track of stream?.getTracks() ?? []) track.stop();
    if (ownsContext) void context.close().catch(() => {});
    if (err instanceof RemoteMediaError) throw err;
    throw new CaptureError(`could not start capturing: ${String((err as Error)?.message ?? err)}`, err);
  }
}

/** The capture worklet module, added once per AudioContext. */
const modules = new WeakMap<BaseAudioContext, Promise<void>>();

/** Adds the capture worklet to `context` (once). Rejects with CaptureError. */
export function addCaptureModule(context: BaseAudioContext, url: string): Promise<void> {
  let loading = modules.get(context);
  if (!loading) {
    loading = context.audioWorklet.addModule(url).catch((err: unknown) => {
      modules.delete(context);
      throw new CaptureError(`could not load the capture worklet ${url}: ${String((err as Error)?.message ?? err)}`, err);
    });
    modules.set(context, loading);
  }
  return loading;
}

/** Microphone audio as it is: no echo cancellation, noise suppression or gain control. */
const RAW_AUDIO: MediaTrackConstraints = { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false };

/** Opens the microphone; CaptureError names why it could not be. */
export async function openMicrophone(constraints: MediaTrackConstraints | undefined): Promise<MediaStream> {
  if (!globalThis.navigator?.mediaDevices?.getUserMedia)
    throw new CaptureError("this page cannot capture audio (navigator.mediaDevices is missing: is it served over https or localhost?)");
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: constraints ?? RAW_AUDIO });
  } catch (err) {
    const name = (err as DOMException)?.name ?? "Error";
    const why =
      name === "NotAllowedError"
        ? "permission was refused"
        : name === "NotFoundError"
          ? "there is no microphone"
          : String((err as Error)?.message ?? err);
    throw new CaptureError(`the microphone could not be opened: ${why} (${name})`, err);
  }
}
