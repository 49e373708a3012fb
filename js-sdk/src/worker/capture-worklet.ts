/**
 * The capture AudioWorklet (`remotemedia-capture`): runs on the audio rendering
 * thread, gathers the input's render quanta (128 frames each) into chunks of
 * `chunkFrames` mono frames, and posts each chunk, transferred, straight to the
 * executor worker over the MessagePort the page hands it (`connect`): audio never
 * passes through the main thread. Each chunk carries its first frame's index in the
 * stream, so the executor can count frames lost or repeated.
 *
 * Messages on the node's port (from the page): `{type: "connect", port}`, `pause`,
 * `resume`, `stop` (posts the partial chunk and `{type: "end", frames}` to the
 * executor, then `{type: "stopped", frames}` to the page, and stops processing).
 * Paused time is not stream time: the stream resumes where it paused.
 */
import type { CaptureChunk, CaptureControl, CaptureEnd } from "../protocol/capture.js";

// The AudioWorkletGlobalScope, declared here: TypeScript's lib has no audioworklet.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: { processorOptions?: Record<string, unknown> });
}
declare function registerProcessor(
  name: string,
  processor: new (options: { processorOptions?: Record<string, unknown> }) => AudioWorkletProcessor,
): void;

class CaptureProcessor extends AudioWorkletProcessor {
  private out: MessagePort | null = null;
  private readonly chunkFrames: number;
  private chunk: Float32Array;
  private filled = 0;
  /** Frames captured so far (stream position of the next frame). */
  private frames = 0;
  private paused = false;
  private stopped = false;

  constructor(options: { processorOptions?: Record<string, unknown> }) {
    super(options);
    const wanted = Number(options.processorOptions?.chunkFrames);
    this.chunkFrames = Number.isInteger(wanted) && wanted >= 128 && wanted <= 1 << 20 ? wanted : 2048;
    this.chunk = new Float32Array(this.chunkFrames);
    this.port.onmessage = (event: MessageEvent<CaptureControl>) => {
      const m = event.data;
      if (m?.type === "connect" && m.port instanceof MessagePort) this.out = m.port;
      else if (m?.type === "pause") {
        this.send();
        this.paused = true;
      } else if (m?.type === "resume") this.paused = false;
      else if (m?.type === "stop" && !this.stopped) {
        this.send();
        this.stopped = true;
        this.out?.postMessage({ type: "end", frames: this.frames } satisfies CaptureEnd);
        this.port.postMessage({ type: "stopped", frames: this.frames });
      }
    };
  }

  /** Posts the frames gathered so far (if any), transferred. */
  private send(): void {
    if (this.filled === 0 || !this.out) return;
    const samples = this.filled === this.chunkFrames ? this.chunk : this.chunk.slice(0, this.filled);
    const message: CaptureChunk = { type: "audio", start: this.frames - this.filled, samples, sampleRate };
    this.out.postMessage(message, [samples.buffer]);
    this.chunk = new Float32Array(this.chunkFrames);
    this.filled = 0;
  }

  process(inputs: Float32Array[][]): boolean {
    if (this.stopped) return false;
    const channel = inputs[0]?.[0];
    // No channel: the source has not started (or has ended); nothing was captured.
    if (this.paused || !this.out || !channel) return true;
    let at = 0;
    while (at < channel.length) {
      const n = Math.min(channel.length - at, this.chunkFrames - this.filled);
      this.chunk.set(channel.subarray(at, at + n), this.filled);
      this.filled += n;
      this.frames += n;
      at += n;
      if (this.filled === this.chunkFrames) this.send();
    }
    return true;
  }
}

registerProcessor("remotemedia-capture", CaptureProcessor);
