/** Pyodide's Emscripten glue (`pyodide.asm.mjs`): its default export creates the module. */
declare module "pyodide/pyodide.asm.mjs" {
  const createPyodideModule: (settings: unknown) => Promise<unknown>;
  export default createPyodideModule;
}

/** Pyodide's package lock, bundled into the Python worker as text (esbuild's `text` loader in scripts/build.mjs). */
declare module "pyodide/pyodide-lock.json" {
  const lock: string;
  export default lock;
}
