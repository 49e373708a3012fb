// The session worker's script: loads the crate's wasm (`wasm-pack build --target web`
// output, in pkg/ beside this file) and registers the worker with gloo-worker.
import init, { registerSessions } from "./pkg/remotemedia_web.js";

await init();
registerSessions();
