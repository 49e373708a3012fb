/**
 * The capture channel of live sessions: the capture AudioWorklet posts audio straight to
 * an executor worker over a MessagePort the main thread hands both ends of.
 */

/** Capture worklet -> executor worker: `samples` (mono) are frames `start..start+length` of the stream. */
export interface CaptureChunk {
  type: "audio";
  start: number;
  samples: Float32Array;
  sampleRate: number;
}

/** Capture worklet -> executor worker: capture stopped after `frames` frames. */
export interface CaptureEnd {
  type: "end";
  frames: number;
}

/** Main thread -> capture worklet, on the node's port. */
export type CaptureControl = { type: "connect"; port: MessagePort } | { type: "pause" } | { type: "resume" } | { type: "stop" };
