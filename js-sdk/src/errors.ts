/** Typed errors of the SDK. Every error thrown by `run`, `open` and sessions is one of these. */

/** One validation finding: a JSON path inside the manifest and what is wrong there. */
export interface Problem {
  path: string;
  message: string;
}

/** Base class: every SDK error has a stable `name`. */
export class RemoteMediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RemoteMediaError";
  }
}

/** The manifest is invalid; `errors` lists every problem with its path. */
export class ManifestError extends RemoteMediaError {
  readonly errors: Problem[];
  readonly warnings: Problem[];
  constructor(message: string, errors: Problem[], warnings: Problem[] = []) {
    super(message);
    this.name = "ManifestError";
    this.errors = errors;
    this.warnings = warnings;
  }
}

/** A node failed. `traceback` holds the Python traceback for Python nodes. */
export class NodeError extends RemoteMediaError {
  readonly nodeId: string;
  readonly nodeType: string;
  readonly language: string;
  readonly traceback: string | null;
  readonly detail: string;
  constructor(message: string, info: { nodeId: string; nodeType: string; language: string; detail: string; traceback: string | null }) {
    super(message);
    this.name = "NodeError";
    this.nodeId = info.nodeId;
    this.nodeType = info.nodeType;
    this.language = info.language;
    this.detail = info.detail;
    this.traceback = info.traceback;
  }
}

/** An input item could not be converted or decoded. */
export class InputError extends RemoteMediaError {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** A worker died or could not start; the pool replaces it, other work goes on. */
export class WorkerCrashedError extends RemoteMediaError {
  /**
   * True when this request did nothing wrong: it shared a worker that another run
   * crashed or that was replaced to stop another run. `run` retries those once on a
   * fresh worker, so callers see this error only if the retry fails too.
   */
  readonly innocent: boolean;
  constructor(message: string, innocent = false) {
    super(message);
    this.name = "WorkerCrashedError";
    this.innocent = innocent;
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends RemoteMediaError {
  constructor(message = "the run was aborted") {
    super(message);
    this.name = "AbortError";
  }
}

/** The run took longer than `timeoutMs`. */
export class TimeoutError extends RemoteMediaError {
  constructor(ms: number) {
    super(`the run did not finish within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/**
 * A runtime file (the executor's or Pyodide's WebAssembly, the Python standard library,
 * the `remotemedia` Python package) could not be fetched, or what came back is not that
 * file (for example an HTML fallback page). `url` names it; `status` and `contentType`
 * say what the server answered (absent when the request itself failed).
 */
export class AssetError extends RemoteMediaError {
  readonly url: string;
  readonly status: number | undefined;
  readonly contentType: string | undefined;
  constructor(message: string, url: string, status?: number, contentType?: string) {
    super(message);
    this.name = "AssetError";
    this.url = url;
    this.status = status;
    this.contentType = contentType;
  }
}

/**
 * The SDK was asked to start where it cannot run: no Web Workers or no WebAssembly
 * (server-side rendering, Node.js, a very old browser). Importing the package is safe
 * anywhere; only `RemoteMedia.create()` needs a browser.
 */
export class UnsupportedEnvironmentError extends RemoteMediaError {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedEnvironmentError";
  }
}

/**
 * Audio capture failed: the microphone was refused or is missing (`cause` is the
 * browser's DOMException: `NotAllowedError`, `NotFoundError`, ...), or the Web Audio
 * graph could not be built.
 */
export class CaptureError extends RemoteMediaError {
  readonly cause: unknown;
  constructor(message: string, cause?: unknown) {
    super(message);
    this.name = "CaptureError";
    this.cause = cause;
  }
}

/** Turns the runtime's error JSON (`{status: "error", error: {...}}`) into a typed error. */
export function errorFromJson(error: Record<string, unknown>): RemoteMediaError {
  const message = String(error.message ?? "unknown error");
  switch (error.kind) {
    case "manifest":
      return new ManifestError(message, (error.errors as Problem[]) ?? [], (error.warnings as Problem[]) ?? []);
    case "node":
      return new NodeError(message, {
        nodeId: String(error.node_id),
        nodeType: String(error.node_type),
        language: String(error.language),
        detail: String(error.error ?? message),
        traceback: typeof error.traceback === "string" ? error.traceback : null,
      });
    case "cancelled":
      return new AbortError(message);
    case "input":
      return new InputError(message);
    default:
      return new RemoteMediaError(message);
  }
}
