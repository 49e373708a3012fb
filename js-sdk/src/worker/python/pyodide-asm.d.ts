/** Pyodide's Emscripten glue (`pyodide.asm.mjs`): its default export creates the module. */
declare module "pyodide/pyodide.asm.mjs" {
  const createPyodideModule: (settings: unknown) => Promise<unknown>;
  export default createPyodideModule;
}
