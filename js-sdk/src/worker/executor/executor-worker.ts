/// <reference lib="webworker" />
/**
 * Entry script of an executor worker (a dedicated module worker). It owns
 * `onmessage`: the compiled WebAssembly.Module and the MessagePort to the Python
 * worker arrive as plain messages, and every message is checked before use, so a
 * malformed one is answered with an error, never a crash. The executor itself is
 * the Rust `WorkerRuntime` (crates/worker).
 */
import init, { WorkerRuntime, provideModel } from "../../../wasm/remotemedia_worker.js";
import type { FromExecutor, PanicInfo, ProgressReport, RuntimeAnswer, ToExecutor } from "../../protocol/executor.js";
import { inOrder, listen } from "./live.js";

declare const self: DedicatedWorkerGlobalScope;

let runtime: WorkerRuntime | null = null;
const pending: ToExecutor[] = [];

function send(message: FromExecutor): void {
  self.postMessage(message);
}

function answer(id: number, promise: Promise<RuntimeAnswer>): void {
  promise.then(
    (result) => send({ type: "answer", id, result }),
    (err: unknown) => send({ type: "fatal", id, message: String((err as Error)?.message ?? err) }),
  );
}

/** Answers a transfer-mode run: the result's buffers move to the page without a copy. */
function answerTransfer(id: number, promise: Promise<{ result: RuntimeAnswer; buffers: Uint8Array[] }>): void {
  promise.then(
    ({ result, buffers }) =>
      self.postMessage(
        { type: "answer", id, result, buffers } satisfies FromExecutor,
        buffers.map((b) => b.buffer as ArrayBuffer),
      ),
    (err: unknown) => send({ type: "fatal", id, message: String((err as Error)?.message ?? err) }),
  );
}

/** Posts a run's progress reports to the page, if it asked for them. */
function reporter(message: { id: number; progress?: boolean }): ((report: ProgressReport) => void) | undefined {
  if (!message.progress) return undefined;
  return (report) => send({ type: "progress", id: message.id, report });
}

function handle(message: ToExecutor, rt: WorkerRuntime): void {
  switch (message.type) {
    case "python-port":
      // The Rust runtime talks to the Python worker over this port itself.
      if (!(message.port instanceof MessagePort)) throw new Error("python-port without a MessagePort");
      rt.setPython(message.port);
      return;
    case "model": {
      // A refused file (no bytes, a name no node needs) is not fatal: the nodes that want
      // it then fail with a NodeError saying the model is missing.
      const refused =
        message.bytes instanceof Uint8Array ? provideModel(String(message.file), message.bytes) : "a model message without bytes";
      if (refused) console.error(`remotemedia executor: ${refused}`);
      return;
    }
    case "run":
      if (Array.isArray(message.buffers)) {
        const buffers = message.buffers.map((b) => new Uint8Array(b));
        answerTransfer(
          message.id,
          rt.runTransfer(message.id, message.manifest, message.body, message.inputs, buffers, reporter(message)) as Promise<{
            result: RuntimeAnswer;
            buffers: Uint8Array[];
          }>,
        );
      } else {
        answer(message.id, rt.run(message.id, message.manifest, message.body, message.inputs, reporter(message)) as Promise<RuntimeAnswer>);
      }
      return;
    case "open":
      answer(message.id, rt.open(message.manifest, message.body) as Promise<RuntimeAnswer>);
      return;
    case "forget":
      rt.forget(message.manifest);
      return;
    case "drop":
      rt.dropSession(message.session);
      return;
    case "push":
      answer(
        message.id,
        inOrder(message.session, () => rt.push(message.session, message.item) as Promise<RuntimeAnswer>),
      );
      return;
    case "close":
      answer(
        message.id,
        inOrder(message.session, () => rt.close(message.session) as Promise<RuntimeAnswer>),
      );
      return;
    case "listen":
      if (!(message.port instanceof MessagePort)) throw new Error("listen without a MessagePort");
      listen(rt, message.id, message.session, message.port);
      return;
    case "configure":
      answer(
        message.id,
        inOrder(message.session, async () => rt.configure(message.session, message.node, message.params) as RuntimeAnswer),
      );
      return;
    case "cancel":
      rt.cancel(message.id);
      return;
    default:
      send({ type: "fatal", message: `unknown message type ${JSON.stringify((message as { type?: unknown }).type)}` });
  }
}

self.onmessage = async (event: MessageEvent<ToExecutor>) => {
  const message = event.data;
  if (typeof message !== "object" || message === null || typeof message.type !== "string") {
    send({ type: "fatal", message: "malformed message" });
    return;
  }
  if (message.type === "init") {
    try {
      await init({ module_or_path: message.module });
      runtime = new WorkerRuntime(message.limits);
      runtime.setRemoteToken(message.remoteToken);
      // A panic traps the instance: say what it was, and let the page replace this worker.
      runtime.onPanic((info: { message: string } & PanicInfo) =>
        send({
          type: "fatal",
          message: `the runtime ${info.message}`,
          panic: { runId: info.runId, nodeId: info.nodeId, nodeType: info.nodeType },
        }),
      );
      send({ type: "ready" });
      for (const queued of pending.splice(0)) handle(queued, runtime);
    } catch (err) {
      send({ type: "fatal", message: `could not start the WebAssembly runtime: ${String((err as Error)?.message ?? err)}` });
    }
    return;
  }
  if (!runtime) {
    pending.push(message);
    return;
  }
  try {
    handle(message, runtime);
  } catch (err) {
    const id = "id" in message ? message.id : undefined;
    send({ type: "fatal", id, message: String((err as Error)?.message ?? err) });
  }
};
