"""RemoteMedia Python nodes, running in Pyodide inside the browser's Python worker.

    from remotemedia import Node, Audio

    class SpeechStats(Node):
        def initialize(self):          # once per run/session, before the first item
            self.count = 0
        def process(self, data):       # a value, None (drop), or a list/generator of values
            self.count += 1
            return {"frames": len(data.samples), "rate": data.sample_rate}
        def cleanup(self):             # once at the end
            pass

Every subclass of ``Node`` becomes a node type under its class name.
"""

from .wire import Audio, Tensor
from .node import Node, node_types

__all__ = ["Node", "Audio", "Tensor", "node_types"]

from . import builtins as _builtins  # noqa: E402,F401  (registers the built-in nodes)
