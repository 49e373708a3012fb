"""The Node base class and the registry of Python node types.

Node classes register by name in a *scope*: the built-ins in the global one, and the
classes of a manifest's ``python.modules`` in that manifest's own scope (keyed by the
modules' content), next to a fresh copy of the built-ins. So a manifest that defines
``TextProcessorNode``, or patches the built-in class, changes nothing for other
manifests. This isolates names and module state within one interpreter, which is what
the native CLI has; it is not a security boundary. In the browser each scope also gets
an interpreter of its own (the Python worker's host, js-sdk/src/worker/python-host.ts).
"""

_REGISTRY = {}
_SCOPES = {}
# The scope whose modules are being executed (set by the bridge); None: the built-ins.
_DEFINING = [None]


class Node:
    """Base class of Python nodes. ``self.config`` holds the node's params,
    ``self.node_id`` its manifest id, ``self.name`` its name (the ``name`` param, else the
    class name, as in the original SDK).

    Override ``process(data)``: return a value (a list is one item), ``None`` to emit
    nothing, or ``yield`` to emit several (a generator, or an ``async def`` generator).
    Any method may be ``async def``. ``initialize()`` runs once before the first item,
    ``flush()`` may return what a streaming node still holds at the end, and
    ``cleanup()`` runs once at the end.

    Nodes written for the original RemoteMedia SDK work as they are: their
    ``__init__(self, factor=2, **kwargs)`` receives the params as keyword arguments, and
    ``super().__init__(**kwargs)`` puts the rest in ``self.config``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        scope = _DEFINING[0]
        if scope is None:
            _REGISTRY[cls.__name__] = cls
        else:
            _SCOPES.setdefault(scope, {})[cls.__name__] = cls

    def __init__(self, config=None, node_id=None, *, name=None, **kwargs):
        self.config = {**dict(config or {}), **kwargs}
        self.node_id = node_id
        # The original SDK's rule: the `name` param (a keyword there, in config here when
        # the params came as one dict), else the class name.
        given = name if name is not None else self.config.get("name")
        self.name = given if isinstance(given, str) and given else type(self).__name__

    def initialize(self):
        pass

    def process(self, data):
        return data

    def flush(self):
        return None

    def cleanup(self):
        pass


def node_types(scope=None):
    """Names of the Python node types a manifest of ``scope`` can use (None: built-ins)."""
    return sorted(set(_REGISTRY) | set(_SCOPES.get(scope, {})))


def find(node_type, scope=None):
    """The class of ``node_type`` in ``scope`` (its own classes first), or None."""
    return _SCOPES.get(scope, {}).get(node_type) or _REGISTRY.get(node_type)
