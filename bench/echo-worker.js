// The floor for call overhead and transport: a bare worker that echoes what it gets
// (structured clone both ways; transferables are moved back when `transfer` is set).
self.onmessage = (event) => {
  const { id, payload, transfer } = event.data;
  self.postMessage({ id, payload }, transfer && payload?.buffer ? [payload.buffer] : []);
};
