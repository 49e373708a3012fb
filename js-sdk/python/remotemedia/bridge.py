"""Requests from the executor (crates/worker/src/python.rs in the browser), one JSON text each.

Used by the browser's Python worker (Pyodide) and by the native runtime (CPython through
PyO3, crates/runtime/src/native_python.rs); the protocol is documented in
crates/runtime/src/python_protocol.rs. require -> {}; create -> {"instance": n};
process -> {"items": [...]}; flush -> {"items": [...]}; release -> {};
any failure -> {"error": {"message", "traceback"}}.
"""

import json
import sys
import threading
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


def _load_modules(modules, scope):
    """The scope of a manifest's modules (name -> source), named by the request's
    ``scope`` (the runtime's hash of the modules, docs/python-nodes.md "Scopes"; this package never
    computes it): on first use, a private copy of the built-ins and the modules are
    executed in it, so their classes and globals are the manifest's own (see
    ``node.py``). Manifests without modules share one scope ("") whose built-ins no
    module can reach by importing (``remotemedia.builtins`` is not what runs), so
    patching that module changes nothing that runs."""
    modules = modules or {}
    if not modules:
        scope = ""
    elif not isinstance(scope, str) or not scope:
        raise ValueError("a create request with python.modules must name its scope")
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


# One event loop per thread: natively, executors on several threads may call in.
_loops = threading.local()


def _run(awaitable):
    """The result of a coroutine. Natively on a private event loop; in Pyodide, whose
    event loop cannot block, driven by hand, so it may await only other coroutines
    (``asyncio.sleep(0)`` included), not timers or I/O."""
    if sys.platform != "emscripten":
        import asyncio

        loop = getattr(_loops, "loop", None)
        if loop is None or loop.is_closed():
            loop = _loops.loop = asyncio.new_event_loop()
        return loop.run_until_complete(awaitable)
    steps = awaitable.__await__()
    try:
        while True:
            waited = steps.send(None)
            if waited is not None:
                steps.close()
                raise RuntimeError(
                    f"an async Python node awaited {waited!r}, which needs a running event loop; "
                    "in the browser, node coroutines may await only other coroutines"
                )
    except StopIteration as done:
        return done.value


def _settled(value):
    """``value``, or what it resolves to if it is a coroutine (an ``async def`` method)."""
    return _run(value) if inspect.isawaitable(value) else value


async def _collect(agen):
    return [item async for item in agen]


def _outputs(result):
    """Wire items of what a node method returned, as the original SDK reads it: None is
    nothing, a generator or async generator one item per value yielded, anything else
    (a list included) one item."""
    result = _settled(result)
    if result is None:
        return []
    if inspect.isasyncgen(result):
        values = _run(_collect(result))
    elif inspect.isgenerator(result):
        values = list(result)
    else:
        return [wire.encode(result)]
    return [wire.encode(v) for v in values if v is not None]


def _instantiate(cls, params, node_id):
    """One instance of ``cls``: ``cls(params, node_id)`` for this package's constructor
    form (the base's, or an override whose first parameter is ``config``); otherwise the
    original SDK's runtime's, ``cls(**params)``."""
    init = cls.__init__
    try:
        first = next(iter(list(inspect.signature(init).parameters)[1:]), None)
    except (TypeError, ValueError):
        first = None
    if init is _node.Node.__init__ or first == "config":
        instance = cls(params, node_id)
    else:
        instance = cls(**params)
    # An __init__ that never called the base's still gets what the bridge and nodes read.
    if not hasattr(instance, "config"):
        instance.config = dict(params)
    if getattr(instance, "node_id", None) is None:
        instance.node_id = node_id
    if not getattr(instance, "name", None):
        instance.name = cls.__name__
    return instance


def _create(request):
    scope = _load_modules((request.get("python") or {}).get("modules"), request.get("scope"))
    spec = request["node"]
    cls = _node.find(spec["node_type"], scope)
    if cls is None:
        raise LookupError(
            f"unknown Python node type {spec['node_type']!r}; known: {', '.join(_node.node_types(scope))}"
        )
    instance = _instantiate(cls, spec.get("params") or {}, spec.get("id"))
    _settled(instance.initialize())
    n = _next_id[0]
    _next_id[0] += 1
    _instances[n] = instance
    _last_created[0] = n
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
        _settled(instance.cleanup())
    return {"items": items}


def _release(request):
    instance = _instances.pop(request.get("instance"), None)
    if instance is not None:
        try:
            _settled(instance.cleanup())
        except Exception:
            pass
    return {}


def _require(request):
    """Imports each of a manifest's ``python.packages`` (natively, where nothing installs
    them: in the browser the Python worker loads them from the Pyodide index first)."""
    import importlib

    for name in request.get("packages") or []:
        module = str(name).replace("-", "_")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImportError(
                f"Python package {name!r} (python.packages) is not installed for this Python "
                f"({sys.executable or 'embedded'} {sys.version.split()[0]}): install it there, for "
                f"example `python3 -m pip install {name}` or Debian's python3-{name}; {exc}"
            ) from None
    return {}


_OPS = {"require": _require, "create": _create, "process": _process, "flush": _flush, "release": _release}


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


_last_created = [None]


def last_created():
    """The node instance the last :func:`handle` created, or None (any other request,
    or a create that failed). The Python host tracks instances by it."""
    return _last_created[0]


def handle(text):
    """One request (JSON text) -> one answer (JSON text). Never raises."""
    _last_created[0] = None
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
    """How many node instances are alive. The interpreter reports it after each request,
    and the Python host evicts only interpreters that hold none: eviction depends on it."""
    return len(_instances)
