// The floor for Python node calls: a bare Pyodide function call inside one worker.
let py;
self.onmessage = async (event) => {
  const { indexURL, calls } = event.data;
  py ??= await (await import(`${indexURL}pyodide.mjs`)).loadPyodide({ indexURL });
  const f = py.runPython("import json\ndef f(text):\n    return json.dumps(json.loads(text))\nf");
  for (let i = 0; i < 50; i++) f("[1]"); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) f(`[${i}]`);
  self.postMessage({ perCallMs: (performance.now() - t0) / calls });
};
