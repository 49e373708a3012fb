/**
 * The Python channels: page -> Python worker (the host), host -> interpreters (nested
 * workers running Pyodide), and executor worker -> host (node requests, posted by the
 * Rust runtime itself: crates/worker/src/python.rs names them the same). Node requests
 * carry the bridge's JSON text, which Python parses with its json module; everything the
 * host itself reads is a structured field.
 */
import type { AssetURLs } from "../assets.js";

/**
 * Main thread -> Python worker: the one message on the worker itself. The Python worker
 * is a host: it runs no Python itself but starts interpreters (nested workers, see
 * {@link ToInterpreter}), one per interpreter scope, at most `maxInterpreters` at once,
 * and routes each request to its scope's interpreter. `control` is the private channel
 * to the page for everything after this message. `assets` are the runtime files' URLs
 * as the page's bundler emitted them; `indexURL`, when set, is a full Pyodide
 * distribution to use instead of the shipped core; `snapshotCache` names the Cache API
 * cache for memory snapshots (this build's), or null for none; `network` false removes
 * the network APIs from Python's reach; `interrupts` (cross-origin isolated pages) is
 * the shared interrupt memory, laid out as below.
 */
export type PythonInit = {
  type: "init";
  control: MessagePort;
  assets: AssetURLs;
  indexURL?: string;
  snapshotCache: string | null;
  network: boolean;
  interrupts?: SharedArrayBuffer;
  maxInterpreters: number;
  /** How long an interpreter's script load, or a download, may stall before it is made once more (ms). */
  loadStallMs: number;
};

/**
 * Python worker (the host, or an interpreter) -> whoever started it, on the worker
 * itself: its script has run and its `onmessage` listens. The starter sends the worker's
 * one message ({@link PythonInit}, {@link ToInterpreter}) only then, so a start never
 * depends on how an engine queues messages for a module worker still loading its script.
 */
export type PythonLoaded = { type: "loaded" };

/**
 * Main thread -> Python worker over `control`: `connect` hands over a channel to one
 * executor worker (`connection` names it); `disconnect` says that executor worker is
 * gone, so the node instances it made and never released are released.
 */
export type ToPythonControl = { type: "connect"; port: MessagePort; connection: number } | { type: "disconnect"; connection: number };

/**
 * Python worker (host) -> one interpreter (a nested worker running Pyodide): the one
 * message on the interpreter's worker. `control` is its private channel to the host
 * (the interpreter's own `postMessage` is removed once Python can run, so manifest code
 * cannot post anywhere); `pyodide` is Pyodide's WebAssembly, fetched, checked and
 * compiled once by the host for every interpreter (each instantiates it, sharing the
 * compiled code); `snapshot`, for interpreters after the first, is a copy of the memory
 * snapshot the host read once from the Cache API; the other fields are the page's, as
 * in {@link PythonInit}.
 */
export type ToInterpreter = Omit<PythonInit, "type" | "maxInterpreters"> & {
  type: "interpreter";
  pyodide: WebAssembly.Module;
  snapshot?: Uint8Array;
};

/**
 * Host -> interpreter over `control`: `connect` hands over the port requests come on
 * ({@link PythonRequest}, without `scope`); `live` asks how many node instances the
 * interpreter holds (an interpreter holding none may be stopped to make room).
 */
export type ToInterpreterControl = { type: "connect"; port: MessagePort } | { type: "live" };

/** Interpreter -> host over `control`: what the host tells the page, and `live` answers. */
export type FromInterpreter = PythonEvent | { type: "live"; count: number };

/**
 * The interrupt memory (Int32 slots): Pyodide's interrupt buffer (the page writes 2,
 * SIGINT), the run Python is serving now (0: none), then a ring of the last cancelled
 * runs, whose next slot `CANCELLED_NEXT` says.
 */
export const INTERRUPT_SLOT = 0;
export const RUNNING_SLOT = 1;
export const CANCELLED_NEXT = 2;
export const CANCELLED_FIRST = 3;
export const CANCELLED_RING = 64;
export const INTERRUPT_SLOTS = CANCELLED_FIRST + CANCELLED_RING;

/** Python worker -> main thread, over `control` (the page times each `progress` stage itself). */
export type PythonEvent =
  | { type: "progress"; stage: string }
  | { type: "ready"; startMs: number; breakdown: PythonStartup; interrupts: boolean; network: boolean }
  /** How many interpreters run now (sent when it changes). */
  | { type: "interpreters"; count: number }
  | { type: "fatal"; message: string; asset?: { url: string; status?: number; contentType?: string } };

/**
 * Where the Python worker's start-up went, in ms: `fetchMs` the span of Pyodide's
 * downloads (or cache hits), `loadPyodideMs` all of loadPyodide (fetch, compile,
 * instantiate, stdlib unpack), `installMs` writing the remotemedia package into
 * Pyodide's file system, `importMs` importing it, `totalMs` worker start to ready.
 */
export interface PythonStartup {
  /** `loaded`: started from a cached memory snapshot; `made`: a snapshot was saved for next time. */
  snapshot: "loaded" | "made" | "off" | "failed";
  fetchMs: number;
  loadPyodideMs: number;
  installMs: number;
  importMs: number;
  totalMs: number;
}

/**
 * Executor worker -> Python worker, over a MessageChannel (no main-thread hop): a node
 * request (JSON text), or the packages a manifest needs, loaded before its nodes are
 * created. `run` is the page's id of the run a request serves (none for releases);
 * `scope` names the interpreter (the SHA-256 of the manifest's `python.modules`; none
 * for manifests without). The Rust runtime posts these itself
 * (crates/worker/src/python.rs).
 */
export type PythonRequest =
  | { id: number; request: string; op: string; instance?: number; run?: number; scope?: string }
  | { id: number; packages: string[]; scope?: string };

/**
 * Answer to a {@link PythonRequest} with the same id: the bridge's answer as JSON text,
 * and, for a `create` that made a node instance, its number (`created`, from the bridge
 * itself: the host tracks instances by it, never by reading `response`).
 */
export interface PythonResponse {
  id: number;
  response: string;
  created?: number;
}
