"""Requests from the executor workers (crates/worker/src/python.rs), one JSON text each.

create -> {"instance": n}; process -> {"items": [...]}; flush -> {"items": [...]};
release -> {}; any failure -> {"error": {"message", "traceback"}}.
"""
import hashlib
import json
import sys
import traceback
import types
import inspect

from . import builtins as _builtins
from . import node as _node
from . import wire

_instances = {}
_next_id = [1]
_scopes = {}
# Scopes kept (the least recently used is dropped; instances already made keep working,
# and a manifest whose scope was dropped gets a fresh one, its module state reset).
MAX_SCOPES = 64
_BUILTINS_SOURCE = inspect.getsource(_builtins)


def _load_modules(modules):
    """The scope of a manifest's modules (name -> source): on first use, a private copy
    of the built-ins and the modules are executed in it, so their classes and globals
    are the manifest's own (see ``node.py``). Manifests without modules share one scope
    whose built-ins no module can reach by importing (``remotemedia.builtins`` is not
    what runs), so patching that module changes nothing that runs."""
    modules = modules or {}
    scope = hashlib.sha256(json.dumps(modules, sort_keys=True).encode()).hexdigest()
    if scope in _scopes:
        _scopes[scope] = _scopes.pop(scope)  # most recently used last
        return scope
    while len(_scopes) >= MAX_SCOPES:
        oldest = next(iter(_scopes))
        del _scopes[oldest]
        _node._SCOPES.pop(oldest, None)
    _node._DEFINING[0] = scope
    try:
        own_builtins = types.ModuleType("remotemedia.builtins")
        own_builtins.__package__ = "remotemedia"
        exec(compile(_BUILTINS_SOURCE, "<remotemedia built-ins>", "exec"), own_builtins.__dict__)
        for name, source in modules.items():
            module = types.ModuleType(name)
            module.__file__ = f"<manifest module {name}>"
            # Imports between one manifest's modules resolve while it is loaded.
            sys.modules[name] = module
            exec(compile(source, module.__file__, "exec"), module.__dict__)
    except BaseException:
        _node._SCOPES.pop(scope, None)
        raise
    finally:
        _node._DEFINING[0] = None
    _scopes[scope] = True
    return scope


def _outputs(result):
    if result is None:
        return []
    if isinstance(result, list) or inspect.isgenerator(result) or isinstance(result, types.GeneratorType):
        return [wire.encode(v) for v in result if v is not None]
    return [wire.encode(result)]


def _create(request):
    scope = _load_modules((request.get("python") or {}).get("modules"))
    spec = request["node"]
    cls = _node.find(spec["node_type"], scope)
    if cls is None:
        raise LookupError(f"unknown Python node type {spec['node_type']!r}; known: {', '.join(_node.node_types(scope))}")
    instance = cls(spec.get("params") or {}, spec.get("id"))
    instance.initialize()
    n = _next_id[0]
    _next_id[0] += 1
    _instances[n] = instance
    return {"instance": n}


def _instance(request):
    try:
        return _instances[request["instance"]]
    except KeyError:
        raise LookupError(f"no Python node instance {request.get('instance')}") from None


def _process(request):
    instance = _instance(request)
    out = []
    for item in request["items"]:
        out.extend(_outputs(instance.process(wire.decode(item))))
    return {"items": out}


def _flush(request):
    instance = _instances.pop(request["instance"], None)
    if instance is None:
        raise LookupError(f"no Python node instance {request.get('instance')}")
    try:
        items = _outputs(instance.flush())
    finally:
        instance.cleanup()
    return {"items": items}


def _release(request):
    instance = _instances.pop(request.get("instance"), None)
    if instance is not None:
        try:
            instance.cleanup()
        except Exception:
            pass
    return {}


_OPS = {"create": _create, "process": _process, "flush": _flush, "release": _release}


class RunCancelled(BaseException):
    """Raised inside a node when the page cancelled (timeout, abort) the run it serves.
    A BaseException, so ``except Exception`` in node code does not swallow it."""


def use_interrupts(run_cancelled):
    """Stops node code of cancelled runs: on SIGINT (the page writes it into Pyodide's
    interrupt buffer), raise :class:`RunCancelled` if ``run_cancelled()`` (a JS function)
    says the run being served was cancelled; a late signal meant for a finished run is
    ignored."""
    import signal

    def on_interrupt(signum, frame):
        if run_cancelled():
            raise RunCancelled("the run was cancelled (timeout or abort) while this node ran")

    signal.signal(signal.SIGINT, on_interrupt)


def handle(text):
    """One request (JSON text) -> one answer (JSON text). Never raises."""
    try:
        request = json.loads(text)
        op = _OPS.get(request.get("op"))
        if op is None:
            raise ValueError(f"unknown bridge op {request.get('op')!r}")
        answer = op(request)
    except (Exception, RunCancelled) as exc:
        answer = {"error": {"message": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}}
    try:
        return json.dumps(answer, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return json.dumps({"error": {"message": f"node output is not JSON-serialisable: {exc}", "traceback": None}})


def live_instances():
    """How many node instances are alive (for tests)."""
    return len(_instances)
