/// <reference lib="webworker" />
/**
 * Entry script of the Python worker. The same script runs twice over: the page starts
 * it as the host (`init`, host.ts), which starts it again, nested, as each
 * interpreter (`interpreter`, interpreter.ts). One script, so an app's bundler
 * emits one worker file, and the host finds it at its own URL.
 */
import { startHost } from "./host.js";
import { startInterpreter } from "./interpreter.js";
import type { ToInterpreter, PythonInit, PythonLoaded } from "../../protocol/python.js";

declare const self: DedicatedWorkerGlobalScope;

self.onmessage = (event: MessageEvent<PythonInit | ToInterpreter>) => {
  const message = event.data;
  if (message?.type === "init") startHost(message);
  else if (message?.type === "interpreter") startInterpreter(message);
  else return;
  // One role per worker, taken from the first message; nothing else listens here.
  self.onmessage = null;
};
// Listening now: the starter sends the one message (see PythonLoaded).
self.postMessage({ type: "loaded" } satisfies PythonLoaded);
