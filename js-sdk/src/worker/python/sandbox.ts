/// <reference lib="webworker" />
/**
 * The interpreter worker's sandbox: what manifest Python code (through Pyodide's `js`
 * module, which is this worker's global scope) must not reach is removed once Pyodide
 * has started and the worker holds the references it needs.
 */

declare const self: DedicatedWorkerGlobalScope;

/**
 * What manifest code must not reach from this worker's global scope (Python's `js`
 * module is that scope): the origin's storage (the Cache API, which holds the runtime's
 * files, and IndexedDB) and the page (`postMessage`); with `network` false also every
 * network API. Each name is deleted wherever it is defined on the global's prototype
 * chain, after the worker took the references it needs. Returns what is left (empty).
 */
export function harden(withNetwork: boolean): string[] {
  const names = ["caches", "indexedDB", "postMessage", "webkitRequestFileSystem", "webkitResolveLocalFileSystemURL", "storageFoundation"];
  if (!withNetwork)
    names.push(
      "fetch",
      "XMLHttpRequest",
      "WebSocket",
      "WebSocketStream",
      "EventSource",
      "WebTransport",
      "importScripts",
      "Worker",
      "SharedWorker",
      "BroadcastChannel",
    );
  for (const name of names) {
    for (let o: object | null = self; o !== null; o = Object.getPrototypeOf(o)) {
      if (Object.hasOwn(o, name)) Reflect.deleteProperty(o, name);
    }
  }
  // New ports from the host arrive over `control` only; nothing else listens here.
  self.onmessage = null;
  const left = names.filter((name) => name in self);
  if (!withNetwork) left.push(...removeCodeEvaluation());
  return left;
}

/**
 * Without the network, JavaScript code evaluation goes too: `import()` cannot be deleted
 * (it is syntax), but it can only be reached from code made at run time. So `eval` is
 * deleted, the constructors of every kind of function (`Function`, and the async and
 * generator ones, reached through any function's `constructor`) throw, and timers refuse
 * code strings. Functions that exist keep working. Pyodide needs evaluation only to load
 * packages' shared libraries, which are refused here anyway. Returns what still
 * evaluates code (empty).
 */
function removeCodeEvaluation(): string[] {
  const refuse = () => {
    throw new TypeError("JavaScript code evaluation is disabled in this Python worker (pythonNetwork: false)");
  };
  // Function expressions on purpose: each kind's prototype is what is locked below.
  // biome-ignore lint/complexity/useArrowFunction: an arrow function has no kind of its own
  const kinds = [function () {}, async function () {}, function* () {}, async function* () {}].map(
    (f) => Object.getPrototypeOf(f) as { constructor: unknown },
  );
  for (const prototype of kinds) Object.defineProperty(prototype, "constructor", { value: refuse, writable: false, configurable: false });
  const g = self as unknown as Record<string, unknown>;
  Object.defineProperty(g, "Function", {
    value: new Proxy(Function, { apply: refuse, construct: refuse }),
    writable: false,
    configurable: false,
  });
  Reflect.deleteProperty(g, "eval");
  for (const name of ["setTimeout", "setInterval"] as const) {
    const timer = self[name].bind(self) as (handler: unknown, ...rest: unknown[]) => number;
    Object.defineProperty(g, name, {
      value: (handler: unknown, ...rest: unknown[]) => (typeof handler === "function" ? timer(handler, ...rest) : refuse()),
      writable: false,
      configurable: false,
    });
  }
  const still: string[] = [];
  if ("eval" in self) still.push("eval");
  for (const prototype of kinds) if (prototype.constructor !== refuse) still.push("a function constructor");
  return still;
}
