/** Typed errors of the SDK. Every error thrown by `run`, `open` and sessions is one of these. */

/** One validation finding: a JSON path inside the manifest and what is wrong there. */
export interface Problem {
  path: string;
  message: string;
}

/**
 * The one error JSON of the runtime, both CLIs and the SDK (`docs/execution.md`):
 * `kind` (`"manifest"`, `"node"`, `"input"`, `"cancelled"`, `"timeout"`, ...), `name`
 * (the SDK's error class), `message`, and the kind's own snake_case fields (`errors`,
 * `warnings`; `node_id`, `node_type`, `language`, `error`, `traceback`; `url`, `status`).
 */
export interface ErrorJson {
  kind: string;
  name: string;
  message: string;
  [field: string]: unknown;
}

/** Base class: every SDK error has a stable `name`, and `toJSON()` gives the runtime's error JSON. */
export class RemoteMediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RemoteMediaError";
  }

  /** The `kind` of this error in the error JSON. */
  protected get kind(): string {
    return "error";
  }

  /** Fields of this kind beyond `kind`, `name` and `message`, in the JSON's snake_case. */
  protected jsonFields(): Record<string, unknown> {
    return {};
  }

  /** The error as the runtime's error JSON ({@link ErrorJson}); `JSON.stringify(error)` uses it. */
  toJSON(): ErrorJson {
    return { kind: this.kind, name: this.name, message: this.message, ...this.jsonFields() };
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

  /**
   * The error of a report's problems, its message written as the runtime writes it
   * (`invalid manifest (N problem(s))` and one `path: message` line each).
   */
  static of(errors: Problem[], warnings: Problem[] = []): ManifestError {
    const lines = errors.map((e) => `\n  ${e.path}: ${e.message}`).join("");
    return new ManifestError(`invalid manifest (${errors.length} problem(s))${lines}`, errors, warnings);
  }

  protected get kind(): string {
    return "manifest";
  }

  protected jsonFields(): Record<string, unknown> {
    return { errors: this.errors, warnings: this.warnings };
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

  protected get kind(): string {
    return "node";
  }

  protected jsonFields(): Record<string, unknown> {
    return { node_id: this.nodeId, node_type: this.nodeType, language: this.language, error: this.detail, traceback: this.traceback };
  }
}

/**
 * A node that runs on a server (`host`, `RemotePipelineNode`) failed there, or its server
 * could not be reached, timed out or went away. `code` says which: `unavailable`,
 * `timeout`, `closed`, `unauthenticated`, `refused`, or the kind of the server's own error
 * (`node`, `manifest`, `input`), whose JSON is `remote`.
 */
export class RemoteError extends RemoteMediaError {
  readonly nodeId: string;
  readonly nodeType: string;
  /** The server, as the manifest wrote it. */
  readonly server: string;
  readonly code: string;
  /** The server's error JSON (`{kind, name, message, ...}`), when it sent one. */
  readonly remote: Record<string, unknown> | null;
  constructor(
    message: string,
    info: { nodeId: string; nodeType: string; server: string; code: string; remote: Record<string, unknown> | null },
  ) {
    super(message);
    this.name = "RemoteError";
    this.nodeId = info.nodeId;
    this.nodeType = info.nodeType;
    this.server = info.server;
    this.code = info.code;
    this.remote = info.remote;
  }

  protected get kind(): string {
    return "remote";
  }

  protected jsonFields(): Record<string, unknown> {
    return { node_id: this.nodeId, node_type: this.nodeType, server: this.server, code: this.code, remote: this.remote };
  }
}

/** An input item could not be converted or decoded. */
export class InputError extends RemoteMediaError {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }

  protected get kind(): string {
    return "input";
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

  protected get kind(): string {
    return "worker_crashed";
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends RemoteMediaError {
  constructor(message = "the run was aborted") {
    super(message);
    this.name = "AbortError";
  }

  protected get kind(): string {
    return "cancelled";
  }
}

/** The run took longer than `timeoutMs`. */
export class TimeoutError extends RemoteMediaError {
  /** The time limit that ran out, in ms. */
  readonly timeoutMs: number;
  constructor(ms: number, message = `the run did not finish within ${ms} ms`) {
    super(message);
    this.name = "TimeoutError";
    this.timeoutMs = ms;
  }

  protected get kind(): string {
    return "timeout";
  }

  protected jsonFields(): Record<string, unknown> {
    return { timeout_ms: this.timeoutMs };
  }
}

/** A push or close on a session that is closed (by `close()`, or when its run ended). */
export class SessionClosedError extends RemoteMediaError {
  constructor(message = "the session is closed") {
    super(message);
    this.name = "SessionClosedError";
  }

  protected get kind(): string {
    return "closed";
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

  protected get kind(): string {
    return "asset";
  }

  protected jsonFields(): Record<string, unknown> {
    return { url: this.url, status: this.status ?? null, content_type: this.contentType ?? null };
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

  protected get kind(): string {
    return "unsupported_environment";
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

  protected get kind(): string {
    return "capture";
  }
}

/**
 * Turns the runtime's error JSON (the `error` of `{status: "error", error: {...}}`, an
 * {@link ErrorJson}) into a typed error; `errorFromJson(e.toJSON())` is `e` again. The
 * kinds, their classes and fields are the runtime's table (`docs/errors.json`), which
 * the SDK's unit tests check every class against.
 */
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
    case "remote":
      return new RemoteError(message, {
        nodeId: String(error.node_id),
        nodeType: String(error.node_type),
        server: String(error.server ?? ""),
        code: String(error.code ?? "error"),
        remote: typeof error.remote === "object" && error.remote !== null ? (error.remote as Record<string, unknown>) : null,
      });
    case "cancelled":
      return new AbortError(message);
    case "input":
      return new InputError(message);
    case "timeout":
      return new TimeoutError(typeof error.timeout_ms === "number" ? error.timeout_ms : NaN, message);
    case "closed":
      return new SessionClosedError(message);
    case "worker_crashed":
      return new WorkerCrashedError(message);
    case "asset":
      return new AssetError(
        message,
        String(error.url ?? ""),
        typeof error.status === "number" ? error.status : undefined,
        typeof error.content_type === "string" ? error.content_type : undefined,
      );
    case "unsupported_environment":
      return new UnsupportedEnvironmentError(message);
    case "capture":
      return new CaptureError(message);
    default:
      return new RemoteMediaError(message);
  }
}
