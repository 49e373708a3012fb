// `npm run dev`: serves the repository on http://127.0.0.1:PORT (default 8080) and
// prints the demo page's address. Ctrl-C stops it. ISOLATE=1 adds COOP/COEP headers.
import { fileURLToPath } from "node:url";
import path from "node:path";
import { serve } from "../js-sdk/node/server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const server = await serve(root, { port: Number(process.env.PORT ?? 8080), isolate: process.env.ISOLATE === "1" });
console.log(`RemoteMedia Web demo: ${server.url}/examples/web/index.html`);
