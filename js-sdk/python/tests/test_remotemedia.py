"""Unit tests of the remotemedia Python package under CPython (no numpy): the wire
format against test-vectors/wire.json, the node API, the built-ins and the bridge."""

import base64
import json
import math
import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from remotemedia import Audio, Node, Tensor, bridge, node_types, wire  # noqa: E402
from remotemedia.node import find  # noqa: E402

VECTORS = json.load(open(os.path.join(HERE, "../../../test-vectors/wire.json")))


def _float(v):
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v) if isinstance(v, str) else v


def _same(got, want):
    got = list(got)
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        w = struct.unpack("<f", struct.pack("<f", _float(w)))[0]
        assert g == w or (math.isnan(g) and math.isnan(w)), (g, w)


def _has_shape(value, shape):
    """Whether a JSON value has a catalog shape (docs/nodes.json `output`, the runtime's
    `Shape::to_json`): the same rules as the runtime's `Shape::check` for JSON values."""
    kind = shape["kind"]
    if kind == "any":
        return True
    if kind == "one_of":
        return any(_has_shape(value, s) for s in shape["shapes"])
    if kind == "text":
        return isinstance(value, str)
    if kind == "literal":
        return value == shape["value"]
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "array":
        return isinstance(value, list) and all(_has_shape(v, shape["items"]) for v in value)
    if kind == "map":
        return isinstance(value, dict) and all(_has_shape(v, shape["values"]) for v in value.values())
    if kind == "object":
        if not isinstance(value, dict) or set(value) - {f["name"] for f in shape["fields"]}:
            return False
        return all(
            _has_shape(value[f["name"]], f["shape"]) if f["name"] in value else f["optional"] for f in shape["fields"]
        )
    raise AssertionError(f"a Python node cannot make {kind} items here: {shape}")


def ask(request):
    # The runtime names a manifest's modules' scope (a hash only Rust computes); to the
    # bridge it is an opaque label, so tests label each module set by its content.
    modules = (request.get("python") or {}).get("modules")
    if request.get("op") == "create" and modules and "scope" not in request:
        request = {**request, "scope": json.dumps(modules, sort_keys=True)}
    return json.loads(bridge.handle(json.dumps(request)))


class WireVectors(unittest.TestCase):
    """The conformance suite: the same vectors run in Rust and TypeScript."""

    def test_valid_vectors_decode_to_the_described_value(self):
        for v in VECTORS["valid"]:
            with self.subTest(v["name"]):
                got = wire.decode(v["wire"])
                kind = v["kind"]
                if kind == "text":
                    self.assertEqual(got, v["text"])
                elif kind == "json":
                    self.assertEqual(got, v["json"])
                elif kind == "binary":
                    self.assertEqual(got.hex(), v["bytes_hex"])
                elif kind == "tensor":
                    self.assertIsInstance(got, Tensor)
                    self.assertEqual((got.shape, got.dtype), (v["shape"], v["dtype"]))
                    self.assertEqual(got.data.cast("B").tobytes().hex(), v["bytes_hex"])
                    if "values" in v:
                        _same(got.data, v["values"])
                else:
                    self.assertIsInstance(got, Audio)
                    self.assertEqual((got.sample_rate, got.channels), (v["sample_rate"], v["channels"]))
                    _same(got.samples, v["samples"])
                    self.assertEqual((got.timestamp_us, got.stream_id), (v.get("timestamp_us"), v.get("stream_id")))
                    self.assertEqual(got.metadata, v.get("metadata", {}))

    def test_invalid_vectors_are_wire_errors_naming_the_path(self):
        for v in VECTORS["invalid"]:
            with self.subTest(v["name"]):
                with self.assertRaises(wire.WireError) as caught:
                    wire.decode(v["wire"])
                self.assertEqual(caught.exception.path, v["path"])
                self.assertTrue(str(caught.exception).startswith(v["path"] + ": "))

    def test_canonical_vectors_re_encode_to_the_same_wire_value(self):
        for v in [v for v in VECTORS["valid"] if v["canonical"]]:
            with self.subTest(v["name"]):
                # Python has one string type: a JSON string comes back as text.
                lossy = v["kind"] == "json" and isinstance(v["json"], str)
                self.assertEqual(wire.encode(wire.decode(v["wire"])), v["json"] if lossy else v["wire"])

    def test_the_dtype_table_is_the_rust_codecs(self):
        expected = {a: d["dtype"] for d in VECTORS["dtypes"] for a in d["aliases"]}
        self.assertEqual(wire._ALIASES, expected)
        self.assertEqual(
            {n: size for n, (size, _) in wire._DTYPES.items()}, {d["dtype"]: d["item_size"] for d in VECTORS["dtypes"]}
        )

    def test_json_with_marker_keys_is_escaped_and_nan_becomes_null(self):
        self.assertEqual(wire.encode({"__audio__": 1}), {"__json__": True, "value": {"__audio__": 1}})
        self.assertEqual(wire.encode([1.0, math.nan]), [1.0, None])


class Bridge(unittest.TestCase):
    def test_builtins_are_the_runtimes_list(self):
        # The runtime's registry names the Python built-ins (docs/nodes.json is generated
        # from it): this package must provide exactly those.
        catalog = json.load(open(os.path.join(HERE, "../../../docs/nodes.json")))
        declared = {node["node_type"] for node in catalog["python"]}
        builtins = {name for name in node_types() if find(name).__module__ == "remotemedia.builtins"}
        self.assertEqual(builtins, declared)

    def test_builtins_make_their_declared_output_shapes(self):
        # docs/nodes.json carries each built-in's output shape (declared in the runtime's
        # registry, printed as the SDK's TypeScript types): the answers must have it, and
        # every alternative of it must be reachable.
        catalog = json.load(open(os.path.join(HERE, "../../../docs/nodes.json")))
        shapes = {node["node_type"]: node["output"] for node in catalog["python"]}
        cases = {
            "TextProcessorNode": (
                {"operations": ["uppercase", "word_count", "nope"]},
                ["a b", {"text": "x"}, {"no": "text"}],
            ),
            "DataTransformNode": ({"operation": "increment"}, [1, [1, 2.5], {"value": 3}]),
        }
        self.assertEqual(set(cases), set(shapes))
        for node_type, (params, items) in cases.items():
            inst = ask({"op": "create", "node": {"id": "n", "node_type": node_type, "params": params}})["instance"]
            out = ask({"op": "process", "instance": inst, "items": items})["items"]
            reached = set()
            for item in out:
                matched = [i for i, s in enumerate(shapes[node_type]["shapes"]) if _has_shape(item, s)]
                self.assertTrue(matched, f"{node_type}: {item!r} is not its declared output")
                reached.update(matched)
            self.assertEqual(reached, set(range(len(shapes[node_type]["shapes"]))), node_type)

    def test_text_processor_takes_operations_from_params_or_input(self):
        inst = ask(
            {
                "op": "create",
                "node": {"id": "t", "node_type": "TextProcessorNode", "params": {"operations": ["reverse"]}},
            }
        )["instance"]
        out = ask(
            {
                "op": "process",
                "instance": inst,
                "items": ["abc", {"text": "one two", "operations": ["word_count", "last_word"]}],
            }
        )["items"]
        self.assertEqual(out[0]["results"], {"reverse": "cba"})
        self.assertEqual(out[1]["results"], {"word_count": 2, "last_word": "two"})
        self.assertEqual(ask({"op": "flush", "instance": inst}), {"items": []})

    def test_data_transform(self):
        d = ask(
            {"op": "create", "node": {"id": "d", "node_type": "DataTransformNode", "params": {"operation": "double"}}}
        )["instance"]
        self.assertEqual(
            ask({"op": "process", "instance": d, "items": [2, [1, 2], {"value": 5}]})["items"],
            [4, [2, 4], {"value": 10, "operation": "double"}],
        )
        bad = ask(
            {"op": "create", "node": {"id": "b", "node_type": "DataTransformNode", "params": {"operation": "square"}}}
        )["instance"]
        err = ask({"op": "process", "instance": bad, "items": [2]})
        self.assertIn("unknown operation 'square'", err["error"]["message"])
        self.assertIn("Traceback", err["error"]["traceback"])

    def test_manifest_modules_lifecycle_and_multiple_outputs(self):
        source = (
            "from remotemedia import Node, Audio\n"
            "events = []\n"
            "class Frames(Node):\n"
            "    def initialize(self):\n"
            "        self.n = 0\n"
            "        events.append('init')\n"
            "    def process(self, data):\n"
            "        self.n += 1\n"
            "        yield {'frames': data.frames, 'rate': data.sample_rate}\n"
            "        yield self.n\n"
            "    def flush(self):\n"
            "        yield 'done'\n"
            "        yield None\n"
            "    def cleanup(self):\n"
            "        events.append('cleanup')\n"
        )
        audio = {
            "__audio__": True,
            "audio": {
                "meta": {"sample_rate": 8000, "channels": 2},
                "data": base64.b64encode(struct.pack("<4f", 0, 0, 1, 1)).decode(),
            },
        }
        inst = ask(
            {"op": "create", "node": {"id": "f", "node_type": "Frames"}, "python": {"modules": {"user_mod": source}}}
        )["instance"]
        self.assertEqual(
            ask({"op": "process", "instance": inst, "items": [audio]})["items"], [{"frames": 2, "rate": 8000}, 1]
        )
        self.assertEqual(ask({"op": "flush", "instance": inst})["items"], ["done"])
        self.assertEqual(sys.modules["user_mod"].events, ["init", "cleanup"])

    def test_one_manifests_classes_and_patches_are_invisible_to_others(self):
        # A manifest that defines its own TextProcessorNode and patches the built-in class
        # (as a hostile or careless module could): other manifests keep the real one.
        tamper = (
            "import remotemedia.builtins as b\n"
            "from remotemedia import Node\n"
            "b.TextProcessorNode.process = lambda self, data: 'TAMPERED'\n"
            "class TextProcessorNode(Node):\n"
            "    def process(self, data):\n"
            "        return 'MINE'\n"
        )
        mine = ask(
            {
                "op": "create",
                "node": {"id": "t", "node_type": "TextProcessorNode"},
                "python": {"modules": {"tamper": tamper}},
            }
        )["instance"]
        self.assertEqual(ask({"op": "process", "instance": mine, "items": ["a"]})["items"], ["MINE"])
        other = ask(
            {
                "op": "create",
                "node": {"id": "t", "node_type": "TextProcessorNode", "params": {"operations": ["uppercase"]}},
            }
        )["instance"]
        self.assertEqual(
            ask({"op": "process", "instance": other, "items": ["abc"]})["items"][0]["results"], {"uppercase": "ABC"}
        )
        # A second manifest with a module of the same name has its own globals.
        first = ask(
            {
                "op": "create",
                "node": {"id": "c", "node_type": "Counter"},
                "python": {
                    "modules": {
                        "state": "from remotemedia import Node\nn = [0]\nclass Counter(Node):\n    def process(self, data):\n        n[0] += 1\n        return n[0]\n"
                    }
                },
            }
        )["instance"]
        second = ask(
            {
                "op": "create",
                "node": {"id": "c", "node_type": "Counter"},
                "python": {
                    "modules": {
                        "state": "from remotemedia import Node\nn = [100]\nclass Counter(Node):\n    def process(self, data):\n        n[0] += 1\n        return n[0]\n"
                    }
                },
            }
        )["instance"]
        self.assertEqual(ask({"op": "process", "instance": first, "items": [0, 0]})["items"], [1, 2])
        self.assertEqual(ask({"op": "process", "instance": second, "items": [0]})["items"], [101])

    def test_scopes_are_bounded(self):
        source = "from remotemedia import Node\nclass Scoped{n}(Node):\n    pass\n"
        for n in range(bridge.MAX_SCOPES + 10):
            ask(
                {
                    "op": "create",
                    "node": {"id": "s", "node_type": f"Scoped{n}"},
                    "python": {"modules": {f"scoped{n}": source.format(n=n)}},
                }
            )
        self.assertLessEqual(len(bridge._scopes), bridge.MAX_SCOPES)

    def test_modules_without_a_scope_are_refused(self):
        # The scope is the runtime's to name; the bridge never computes one itself.
        request = {"op": "create", "node": {"id": "a", "node_type": "A"}, "python": {"modules": {"m": "x = 1"}}}
        answer = json.loads(bridge.handle(json.dumps(request)))
        self.assertIn("must name its scope", answer["error"]["message"])

    def test_errors_never_escape_and_instances_are_released(self):
        source = "from remotemedia import Node\nclass Boom(Node):\n    def process(self, data):\n        raise ValueError('bad ' + str(data))\n"
        inst = ask(
            {"op": "create", "node": {"id": "b", "node_type": "Boom"}, "python": {"modules": {"boom_mod": source}}}
        )["instance"]
        err = ask({"op": "process", "instance": inst, "items": [3]})["error"]
        self.assertEqual(err["message"], "ValueError: bad 3")
        self.assertIn("boom_mod", err["traceback"])
        before = bridge.live_instances()
        ask({"op": "release", "instance": inst})
        self.assertEqual(bridge.live_instances(), before - 1)
        self.assertIn(
            "unknown Python node type",
            ask({"op": "create", "node": {"id": "x", "node_type": "Nope"}})["error"]["message"],
        )
        self.assertIn("unknown bridge op", ask({"op": "explode"})["error"]["message"])
        self.assertIn("error", json.loads(bridge.handle("{not json")))

    def test_the_host_learns_created_instances_from_the_bridge_not_its_text(self):
        # The Python host tracks instances by last_created(), so an answer that grows a
        # field cannot break eviction.
        answer = ask({"op": "create", "node": {"id": "t", "node_type": "TextProcessorNode"}})
        self.assertEqual(bridge.last_created(), answer["instance"])
        ask({"op": "process", "instance": answer["instance"], "items": ["a"]})
        self.assertIsNone(bridge.last_created())
        ask({"op": "create", "node": {"id": "x", "node_type": "Nope"}})
        self.assertIsNone(bridge.last_created(), "a failed create made no instance")
        original = bridge._OPS["create"]
        bridge._OPS["create"] = lambda request: {**original(request), "added": "a new field"}
        try:
            grown = ask({"op": "create", "node": {"id": "t", "node_type": "TextProcessorNode"}})
        finally:
            bridge._OPS["create"] = original
        self.assertEqual(grown["added"], "a new field")
        self.assertEqual(bridge.last_created(), grown["instance"])
        for n in (answer["instance"], grown["instance"]):
            ask({"op": "release", "instance": n})

    def test_nodes_written_for_the_original_sdk(self):
        # The original SDK's node API: params as keyword arguments, **kwargs passed on to
        # the base, async methods, async generators, and a list returned as one item.
        source = (
            "import asyncio\n"
            "from remotemedia import Node\n"
            "class ScaleNode(Node):\n"
            "    def __init__(self, factor=2, **kwargs):\n"
            "        super().__init__(**kwargs)\n"
            "        self.factor = factor\n"
            "    async def initialize(self):\n"
            "        await asyncio.sleep(0)\n"
            "        self.ready = True\n"
            "    def process(self, data):\n"
            "        return [x * self.factor for x in data] if isinstance(data, list) else data * self.factor\n"
            "class Burst(Node):\n"
            "    async def process(self, data):\n"
            "        for i in range(3):\n"
            "            await asyncio.sleep(0)\n"
            "            yield {'index': i, 'data': data}\n"
            "class Later(Node):\n"
            "    async def process(self, data):\n"
            "        await asyncio.sleep(0)\n"
            "        return {'later': data, 'name': self.name, 'config': self.config}\n"
            "class Plain(Node):\n"
            "    def __init__(self, gain=1.0):\n"
            "        self.gain = gain\n"
            "    def process(self, data):\n"
            "        return data * self.gain\n"
        )
        python = {"modules": {"original_api": source}}

        def run(node_type, params, items):
            inst = ask(
                {"op": "create", "node": {"id": "n.1", "node_type": node_type, "params": params}, "python": python}
            )
            self.assertIn("instance", inst, inst)
            out = ask({"op": "process", "instance": inst["instance"], "items": items})
            self.assertIn("items", out, out)
            ask({"op": "flush", "instance": inst["instance"]})
            return out["items"]

        self.assertEqual(run("ScaleNode", {"factor": 3, "mode": "x"}, [[1, 2, 3], 4]), [[3, 6, 9], 12])
        self.assertEqual(run("Burst", {}, ["a"]), [{"index": i, "data": "a"} for i in range(3)])
        self.assertEqual(run("Later", {"k": 1}, [5]), [{"later": 5, "name": "Later", "config": {"k": 1}}])
        self.assertEqual(run("Plain", {"gain": 0.5}, [4]), [2.0])
        scale = ask(
            {
                "op": "create",
                "node": {"id": "s", "node_type": "ScaleNode", "params": {"factor": 3, "mode": "x"}},
                "python": python,
            }
        )["instance"]
        instance = bridge._instances[scale]
        self.assertEqual(
            (instance.factor, instance.config, instance.name, instance.node_id, instance.ready),
            (3, {"mode": "x"}, "ScaleNode", "s", True),
        )
        ask({"op": "release", "instance": scale})

    def test_text_processor_answers_as_the_original(self):
        inst = ask({"op": "create", "node": {"id": "text1", "node_type": "TextProcessorNode"}})["instance"]
        out = ask(
            {
                "op": "process",
                "instance": inst,
                "items": [{"text": "Hello WASM", "operations": ["uppercase", "shout"]}, {"no": "text"}],
            }
        )["items"]
        self.assertEqual(
            out[0],
            {
                "original_text": "Hello WASM",
                "operations": ["uppercase", "shout"],
                "results": {"uppercase": "HELLO WASM", "unknown_operation_shout": "Unknown operation: shout"},
                "processed_by": "TextProcessorNode[TextProcessorNode]",
                "node_config": {},
            },
        )
        self.assertEqual(out[1]["error"], "Input must contain 'text' key")
        named = ask(
            {"op": "create", "node": {"id": "t2", "node_type": "TextProcessorNode", "params": {"name": "upper"}}}
        )["instance"]
        self.assertEqual(
            ask({"op": "process", "instance": named, "items": [{"text": "a"}]})["items"][0]["processed_by"],
            "TextProcessorNode[upper]",
        )

    def test_subclassing_registers_node_types(self):
        class LocalNode(Node):
            pass

        self.assertIn("LocalNode", node_types())


if __name__ == "__main__":
    unittest.main()
