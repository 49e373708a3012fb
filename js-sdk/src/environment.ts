/**
 * Environment probes: what the browser (or worker, or server) the SDK was loaded in
 * offers. Each reads globals only when called, so importing the SDK on a server
 * (server-side rendering) touches nothing.
 */

/** Why the SDK cannot start here, or null in a browser (or worker) with Web Workers and WebAssembly. */
export function unsupportedReason(): string | null {
  if (typeof Worker !== "function") return "Web Workers are not available here";
  if (typeof WebAssembly !== "object") return "WebAssembly is not available here";
  if (typeof fetch !== "function") return "fetch is not available here";
  return null;
}

/** Whether the page is cross-origin isolated (COOP + COEP): SharedArrayBuffer, and so Python interrupts, need it. */
export function crossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** Whether SharedArrayBuffer exists here (it does only when the page is cross-origin isolated, in current browsers). */
export function sharedArrayBuffer(): boolean {
  return typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer === "function";
}

let moduleWorkerSupport: boolean | undefined;

/**
 * Whether the browser starts module workers (`new Worker(url, { type: "module" })`):
 * it reads the `type` option only if it knows it. The data: URL never loads. Checked once.
 */
export function moduleWorkers(): boolean {
  moduleWorkerSupport ??= detectModuleWorkers();
  return moduleWorkerSupport;
}

/**
 * The probe's script: an empty data: URL, held in a variable because bundlers treat a
 * literal `new Worker("…")` as a worker of the app's to build (Parcel 2 refuses it).
 */
const EMPTY_SCRIPT = "data:text/javascript,";

function detectModuleWorkers(): boolean {
  let read = false;
  const options = {
    get type(): WorkerType {
      read = true;
      return "module";
    },
  };
  try {
    new Worker(EMPTY_SCRIPT, options).terminate();
  } catch {
    // a content security policy may refuse the URL: the option was read first
  }
  return read;
}

/** Whether WebAssembly SIMD (128-bit) validates here. */
export function wasmSimd(): boolean {
  // (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
  const bytes = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
  ]);
  return WebAssembly.validate(bytes);
}
