/**
 * @remotemedia/web: run RemoteMedia pipelines in the browser, off the main thread.
 * This module only re-exports; each concept lives in a module of its own (README.md in
 * this folder maps them).
 *
 * ```ts
 * const rm = await RemoteMedia.create({ workers: 2, onProgress: (e) => console.log(e.stage) });
 * const result = await rm.run(manifest, [fileBytes], { timeoutMs: 10_000 });
 * await rm.terminate();
 * ```
 */
export { RemoteMedia } from "./remote-media.js";
export { Session } from "./session.js";
export type { CreateOptions, ProgressEvent, RunOptions, RunProgress } from "./options.js";
export type { ProgressReport } from "./protocol/executor.js";
export type { Capabilities, Manifest, NodeMetrics, PackageContents, RunResult, SessionOutput, ValidationReport } from "./types.js";
export type { ExecutorLimits } from "./protocol/executor.js";
export type { PythonStartup } from "./protocol/python.js";
export * from "./errors.js";
export { registerServiceWorker, cacheStatus, clearCache } from "./service-worker.js";
export type { RegisterOptions, CacheInfo, ServiceWorkerEvent } from "./service-worker.js";
export { BUILD } from "./build-info.js";
export { ASSET_FILES } from "./assets.js";
export type { AssetName, AssetURLs } from "./assets.js";
export { fromWire, toWire, isAudio, isTensor } from "./wire.js";
export { float32ToBase64, base64ToFloat32 } from "./base64.js";
export { Listener } from "./live/listener.js";
export type { CustomLiveEvent, ListenOptions, LiveEvent, LiveEventBase, ListenerStats } from "./live/listener.js";
export type { NodeOutput, NodeOutputs } from "./nodes.js";
export type { AudioData, TensorData, InputItem, OutputItem } from "./wire.js";
