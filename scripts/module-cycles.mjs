// Import cycles between modules, for `npm test` and anyone who wants to look:
// - Rust: the top-level modules of each crate (a file `src/x.rs` or a folder `src/x/`),
//   with an edge x -> y for every `crate::y` path written in x (use lines and paths in code);
// - TypeScript: js-sdk/src through madge (npm registry), which follows the imports.
// Prints each crate's edges with --print; exits 1 when there is a cycle.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import madge from "madge";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const print = process.argv.includes("--print");
let cycles = 0;

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith(".rs") ? [p] : [];
  });
}

/** Cycles of a directed graph (Map node -> Set of nodes): one list per strongly connected component of 2+ nodes. */
function stronglyConnected(graph) {
  let index = 0;
  const stack = [];
  const info = new Map();
  const found = [];
  const visit = (v) => {
    info.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).on) info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
    }
    if (info.get(v).low === info.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).on = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!info.has(v)) visit(v);
  return found;
}

for (const crate of ["runtime", "models", "worker", "web", "server", "cli"]) {
  const src = path.join(root, "crates", crate, "src");
  const graph = new Map();
  for (const file of filesUnder(src)) {
    const rel = path.relative(src, file);
    const top = rel.split(path.sep)[0].replace(/\.rs$/, "");
    if (top === "lib" || top === "main" || top === "bin") continue;
    const code = readFileSync(file, "utf8").replace(/\/\/.*$/gm, "");
    const edges = graph.get(top) ?? new Set();
    for (const m of code.matchAll(/\bcrate::([a-z_][a-z0-9_]*)/g)) if (m[1] !== top) edges.add(m[1]);
    // `use crate::{a, b::c}` groups name several modules.
    for (const g of code.matchAll(/\bcrate::\{([^}]*)\}/g)) for (const part of g[1].split(",")) {
      const name = part.trim().split("::")[0];
      if (/^[a-z_][a-z0-9_]*$/.test(name) && name !== top) edges.add(name);
    }
    graph.set(top, edges);
  }
  // Only edges to modules of this crate (crate::Type re-exports at the root are not modules).
  for (const [k, v] of graph) graph.set(k, new Set([...v].filter((x) => graph.has(x))));
  if (print) for (const [k, v] of [...graph].sort()) console.log(`crates/${crate}: ${k} -> ${[...v].sort().join(", ") || "(none)"}`);
  for (const c of stronglyConnected(graph)) {
    cycles++;
    console.error(`crates/${crate}: modules in a cycle: ${c.join(", ")}`);
  }
}

const ts = await madge(path.join(root, "js-sdk/src"), { fileExtensions: ["ts"], tsConfig: path.join(root, "js-sdk/tsconfig.json") });
for (const c of ts.circular()) {
  cycles++;
  console.error(`js-sdk/src: import cycle: ${c.join(" -> ")}`);
}
if (print) console.log(`js-sdk/src: ${Object.keys(ts.obj()).length} modules, ${ts.circular().length} cycles`);
if (cycles > 0) process.exit(1);
console.log("no import cycles (crates/runtime, models, worker, web, server, cli; js-sdk/src)");
