"""The Node base class and the registry of Python node types."""

_REGISTRY = {}


class Node:
    """Base class of Python nodes. ``self.config`` holds the node's params.

    Override ``process(data)``: return a value, ``None`` to emit nothing, or a list or
    generator of values to emit several (to emit one JSON array, return ``[[...]]``).
    ``initialize()`` runs once before the first item, ``flush()`` may return what a
    streaming node still holds at the end, and ``cleanup()`` runs once at the end.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def __init__(self, config=None, node_id=None):
        self.config = dict(config or {})
        self.node_id = node_id

    def initialize(self):
        pass

    def process(self, data):
        return data

    def flush(self):
        return None

    def cleanup(self):
        pass


def node_types():
    """Names of every registered Python node type."""
    return sorted(_REGISTRY)


def find(node_type):
    return _REGISTRY.get(node_type)
