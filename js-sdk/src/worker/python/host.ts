/// <reference lib="webworker" />
/**
 * The Python worker as a host of interpreters. It runs no Python itself: each
 * interpreter scope (the runtime's hash of a manifest's `python.modules`, or none) gets
 * its own Pyodide interpreter in a nested worker (interpreter.ts), so one manifest's
 * Python (its modules, globals, patches to the stdlib or JS globals) never changes another's.
 *
 * Requests from the executor workers arrive here and go to their scope's interpreter,
 * one at a time across all interpreters: the page's interrupt memory tracks one running
 * Python run. At most `maxInterpreters` run at once; to make room for a new scope the
 * least recently used interpreter that holds no node instance is stopped (its module
 * state is lost, as when a worker is replaced). If every interpreter holds instances
 * (open sessions), the request fails with an error that says so.
 *
 * For each executor worker's connection the host keeps the node instances its requests
 * made and have not flushed or released: when that worker is gone (`disconnect`), they
 * are released, so its open sessions and runs never hold an interpreter forever.
 *
 * Terminating this worker stops every interpreter with it (the page does so to replace
 * Python). An interpreter that dies after start-up is reported to the page as the
 * Python worker's death, so the page replaces all of them.
 */
import type {
  FromInterpreter,
  PythonEvent,
  PythonRequest,
  PythonResponse,
  ToInterpreter,
  ToInterpreterControl,
  PythonInit,
  ToPythonControl,
} from "../../protocol/python.js";

import { startAnnounced } from "../../announced-worker.js";
import type { AnnouncedWorker } from "../../announced-worker.js";
import { AssetError } from "../../errors.js";
import { compiledPyodide, sharedSnapshot } from "./shared-files.js";
import { pyodideFiles } from "./snapshot.js";

declare const self: DedicatedWorkerGlobalScope;

/** One interpreter worker and the requests it has not answered. */
interface Interpreter {
  worker: AnnouncedWorker;
  control: MessagePort;
  requests: MessagePort;
  /** Its scope; `undefined` until the first request takes it (the one started with the host). */
  scope: string | null | undefined;
  ready: Promise<void>;
  started: boolean;
  waiting: Map<number, (answer: Served) => void>;
  onLive: ((count: number) => void) | null;
  nextId: number;
  lastUsed: number;
  /** Started ahead for the next new scope (see {@link startSpare}); not counted as running. */
  spare: boolean;
}

/** An interpreter's answer: the bridge's JSON text, and the instance a `create` made. */
interface Served {
  response: string;
  created?: number;
}

/** An executor worker's connection and the node instances it holds: key -> where. */
interface Connection {
  port: MessagePort;
  instances: Map<string, { scope: string | null; instance: number }>;
}

const connections = new Map<number, Connection>();
let page: MessagePort | null = null;
let init: PythonInit | null = null;
const interpreters: Interpreter[] = [];
let queue: Promise<unknown> = Promise.resolve();

function tell(message: PythonEvent): void {
  page?.postMessage(message);
}

const errorAnswer = (message: string) => JSON.stringify({ error: { message, traceback: null } });

/**
 * Starts an interpreter. `first` is the one started with the host: its progress, its
 * readiness and its failure to start are the Python worker's, told to the page as they
 * are. Later ones report a failure to start to the request that needed them.
 */
function spawn(first: boolean): Interpreter {
  const { assets, indexURL, snapshotCache, network, interrupts, loadStallMs } = init!;
  let crashed: (message: string) => void = () => {};
  let listening: (worker: Worker) => void = () => {};
  const loaded = new Promise<Worker>((resolve) => (listening = resolve));
  // This script by its location, not import.meta.url (Parcel rewrites that to a file path).
  const worker = startAnnounced(self.location.href, "remotemedia-python-interpreter", {
    stallMs: loadStallMs,
    onStall: () =>
      first && tell({ type: "progress", stage: `the interpreter's script did not load in ${loadStallMs} ms: loading it again` }),
    onLoaded: (w) => {
      if (first) tell({ type: "progress", stage: "starting the interpreter" });
      listening(w);
    },
    onError: (message) => crashed(message),
  });
  const control = new MessageChannel();
  const requests = new MessageChannel();
  const interpreter: Interpreter = {
    worker,
    control: control.port1,
    requests: requests.port1,
    scope: undefined,
    ready: Promise.resolve(),
    started: false,
    waiting: new Map(),
    onLive: null,
    nextId: 1,
    lastUsed: performance.now(),
    spare: false,
  };
  let cannotStart: (err: unknown) => void = () => {};
  interpreter.ready = new Promise<void>((resolve, reject) => {
    const died = (message: string) => {
      if (!interpreter.started) return reject(new Error(message));
      // After start-up: the page replaces the Python worker (and so every interpreter).
      tell({ type: "fatal", message });
    };
    cannotStart = (err) => {
      const message = `Pyodide failed to start: ${String((err as Error)?.message ?? err)}`;
      const asset = err instanceof AssetError ? { url: err.url, status: err.status, contentType: err.contentType } : undefined;
      if (first) tell({ type: "fatal", message, asset });
      died(message);
    };
    control.port1.onmessage = (event: MessageEvent<FromInterpreter>) => {
      const m = event.data;
      if (m.type === "live") return interpreter.onLive?.(m.count);
      if (m.type === "fatal") {
        if (first && !interpreter.started) tell(m);
        return died(m.message);
      }
      if (m.type === "ready") {
        interpreter.started = true;
        if (first) tell(m);
        return resolve();
      }
      if (m.type === "progress" && first) tell(m);
    };
    crashed = (detail) => {
      const message = `the Python worker crashed: ${detail}`;
      if (first && !interpreter.started) tell({ type: "fatal", message });
      died(message);
    };
  });
  // A failed start is reported to the request that waits for it (or, for the first, to
  // the page); nothing else awaits it.
  interpreter.ready.catch(() => {});
  requests.port1.onmessage = (event: MessageEvent<PythonResponse>) => {
    const answer = interpreter.waiting.get(event.data?.id);
    interpreter.waiting.delete(event.data?.id);
    const created = event.data?.created;
    answer?.({ response: String(event.data?.response), ...(typeof created === "number" ? { created } : {}) });
  };
  // The worker loads its script meanwhile; its one message waits for it to listen, for
  // the compiled module and, after the first interpreter, the snapshot's bytes (a copy each).
  const files = pyodideFiles(assets, indexURL);
  Promise.all([compiledPyodide(files.wasm, loadStallMs), first ? undefined : sharedSnapshot(snapshotCache, files.base), loaded]).then(
    ([pyodide, snapshot, listener]) =>
      listener.postMessage(
        {
          type: "interpreter",
          control: control.port2,
          assets,
          indexURL,
          snapshotCache,
          network,
          interrupts,
          loadStallMs,
          pyodide,
          snapshot,
        } satisfies ToInterpreter,
        [control.port2],
      ),
    cannotStart,
  );
  control.port1.postMessage({ type: "connect", port: requests.port2 } satisfies ToInterpreterControl, [requests.port2]);
  interpreters.push(interpreter);
  tellCount();
  return interpreter;
}

/** Tells the page how many interpreters run (spares started ahead are not counted). */
function tellCount(): void {
  tell({ type: "interpreters", count: interpreters.filter((i) => !i.spare).length });
}

/**
 * Whether to keep one interpreter started ahead: once a manifest's inline Python needed
 * an interpreter of its own beside the first, the app uses several, and the next new
 * scope takes the spare at once instead of waiting for Pyodide's start (about 0.35 s).
 * Apps with one scope never pay for a spare.
 */
let keepSpare = false;

/** Starts the spare, if one is wanted and there is room under the limit. */
function startSpare(): void {
  if (!keepSpare || interpreters.some((i) => i.scope === undefined) || interpreters.length >= init!.maxInterpreters) return;
  spawn(false).spare = true;
  tellCount();
}

function stop(interpreter: Interpreter): void {
  const at = interpreters.indexOf(interpreter);
  if (at < 0) return; // stopped already
  interpreter.worker.stop();
  interpreter.control.close();
  interpreter.requests.close();
  interpreters.splice(at, 1);
  tellCount();
}

/**
 * How many node instances `interpreter` holds. It is idle (requests go one at a time),
 * so it answers at once; one that does not within `LIVE_TIMEOUT_MS` is broken and
 * counts as holding none, so it is the one stopped.
 */
function liveCount(interpreter: Interpreter): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(0), LIVE_TIMEOUT_MS);
    const done = (count: number) => {
      clearTimeout(timer);
      interpreter.onLive = null;
      resolve(count);
    };
    interpreter.onLive = done;
    interpreter.control.postMessage({ type: "live" } satisfies ToInterpreterControl);
  });
}

const LIVE_TIMEOUT_MS = 5000;

/** Stops the least recently used interpreter that holds no node instance; false if none. */
async function makeRoom(): Promise<boolean> {
  const byAge = [...interpreters].sort((a, b) => a.lastUsed - b.lastUsed);
  for (const candidate of byAge) {
    if (!candidate.started) continue;
    if ((await liveCount(candidate)) === 0) {
      stop(candidate);
      return true;
    }
  }
  return false;
}

/** The interpreter of `scope`, started (or taken over from the first one) if need be. */
async function interpreterFor(scope: string | null): Promise<Interpreter> {
  let interpreter = interpreters.find((i) => i.scope === scope) ?? interpreters.find((i) => i.scope === undefined);
  if (!interpreter) {
    if (interpreters.length >= init!.maxInterpreters && !(await makeRoom())) {
      throw new Error(
        `every Python interpreter (${init!.maxInterpreters}, the pythonInterpreters limit) holds node instances of other manifests (open sessions): close one, or raise pythonInterpreters`,
      );
    }
    tell({ type: "progress", stage: "starting a Python interpreter for a manifest's modules" });
    interpreter = spawn(false);
    keepSpare = true;
  }
  if (interpreter.spare) {
    interpreter.spare = false;
    tellCount();
  }
  interpreter.scope = scope;
  interpreter.lastUsed = performance.now();
  try {
    await interpreter.ready;
  } catch (err) {
    stop(interpreter);
    throw err;
  }
  startSpare(); // after this one is ready, so the two do not start at once
  return interpreter;
}

/** Sends `message` to its scope's interpreter; resolves with its answer. */
async function route(message: PythonRequest): Promise<Served> {
  const { scope, ...body } = message;
  const key = typeof scope === "string" ? scope : null;
  // A release for an interpreter that is gone (stopped, replaced) has nothing to release.
  if ("request" in body && body.op === "release" && !interpreters.some((i) => i.scope === key)) return { response: "{}" };
  return ask(await interpreterFor(key), body);
}

/** Posts one request to `interpreter` (under its own id); resolves with its answer. */
function ask(
  interpreter: Interpreter,
  body: { request: string; op: string; instance?: number; run?: number } | { packages: string[] },
): Promise<Served> {
  const id = interpreter.nextId++;
  return new Promise<Served>((resolve) => {
    interpreter.waiting.set(id, resolve);
    interpreter.requests.postMessage({ ...body, id } satisfies PythonRequest);
  });
}

/** Serves one executor worker's requests, in arrival order across all of them. */
function connect(port: MessagePort, id: number): void {
  const connection: Connection = { port, instances: new Map() };
  connections.set(id, connection);
  port.onmessage = (event: MessageEvent<PythonRequest>) => {
    const message = event.data;
    if (typeof message?.id !== "number") return;
    if (!("request" in message && typeof message.request === "string") && !("packages" in message && Array.isArray(message.packages)))
      return;
    queue = queue.then(async () => {
      let response: string;
      try {
        const answer = await route(message);
        track(connection, message, answer);
        response = answer.response;
      } catch (err) {
        response = errorAnswer(String((err as Error)?.message ?? err));
      }
      port.postMessage({ id: message.id, response } satisfies PythonResponse);
    });
  };
}

/**
 * Notes the instance a `create` made (the interpreter says which: `created`, from the
 * bridge itself), and forgets the one a `flush` or `release` ended (the request's own
 * `op` and `instance` fields). Neither reads the JSON texts.
 */
function track(connection: Connection, message: PythonRequest, answer: Served): void {
  if (!("request" in message)) return;
  const scope = typeof message.scope === "string" ? message.scope : null;
  if (typeof answer.created === "number") {
    connection.instances.set(`${scope} ${answer.created}`, { scope, instance: answer.created });
  } else if ((message.op === "flush" || message.op === "release") && typeof message.instance === "number") {
    connection.instances.delete(`${scope} ${message.instance}`);
  }
}

/**
 * Releases what a gone executor worker held, in the interpreters still running: after
 * its requests already queued (a `create` among them may still add an instance).
 */
function disconnect(id: number): void {
  const connection = connections.get(id);
  if (!connection) return;
  connections.delete(id);
  connection.port.onmessage = null;
  connection.port.close();
  queue = queue.then(async () => {
    for (const { scope, instance } of connection.instances.values()) {
      const interpreter = interpreters.find((i) => i.scope === scope && i.started);
      if (interpreter) await ask(interpreter, { request: JSON.stringify({ op: "release", instance }), op: "release", instance });
    }
    connection.instances.clear();
  });
}

/** Starts this worker as the host (the page's `init`): the first interpreter boots at once. */
export function startHost(message: PythonInit): void {
  if (page) return;
  page = message.control;
  init = message;
  tell({ type: "progress", stage: "fetching and compiling Pyodide's WebAssembly" });
  page.onmessage = (e: MessageEvent<ToPythonControl>) => {
    if (e.data?.type === "connect" && e.data.port) connect(e.data.port, e.data.connection);
    if (e.data?.type === "disconnect") disconnect(e.data.connection);
  };
  spawn(true);
}
