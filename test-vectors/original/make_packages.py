"""Builds the .rmpkg packages of this folder (zips laid out as the original SDK's
docs/RMPKG_FORMAT.md says), byte for byte the same on every run:

- calculator.rmpkg: calculator.rmpkg.json as manifest.json, the format document's example
  metadata.json, and a runtime.wasm (the smallest valid wasm module: the original ships its
  own executor there, which this runtime does not use);
- text-processor.rmpkg: text-processor.rmpkg.json as manifest.json;
- deps-nodes.rmpkg: a manifest whose node type comes from deps/original_nodes.py;
- broken-*.rmpkg: malformed packages (no manifest.json, manifest.json not JSON, cut short).

Run: python3 test-vectors/original/make_packages.py
"""
import json
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = (2025, 10, 27, 0, 0, 0)


def write(name, files):
    with zipfile.ZipFile(os.path.join(HERE, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            info = zipfile.ZipInfo(path, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def read(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


metadata = {"package_name": "calculator-demo", "package_version": "1.0.0", "author": "RemoteMedia SDK", "license": "MIT",
            "runtime_info": {"has_python_nodes": False, "has_rust_nodes": True, "node_types": ["MultiplyNode", "AddNode"]}}
write("calculator.rmpkg", [("manifest.json", read("calculator.rmpkg.json")), ("metadata.json", json.dumps(metadata, indent=2)),
                           ("runtime.wasm", b"\0asm\1\0\0\0")])
write("text-processor.rmpkg", [("manifest.json", read("text-processor.rmpkg.json"))])
deps_manifest = {
    "version": "v1",
    "metadata": {"name": "deps-nodes", "description": "A node type from the package's deps/ folder"},
    "nodes": [{"id": "scale", "node_type": "ScaleNode", "params": {"factor": 10}}],
}
deps_module = (
    "from remotemedia import Node\n\n"
    "class ScaleNode(Node):\n"
    "    def __init__(self, factor=2, **kwargs):\n"
    "        super().__init__(**kwargs)\n"
    "        self.factor = factor\n\n"
    "    def process(self, data):\n"
    "        return data * self.factor\n"
)
write("deps-nodes.rmpkg", [("manifest.json", json.dumps(deps_manifest, indent=2)), ("deps/original_nodes.py", deps_module),
                           ("deps/README.txt", "files other than .py are listed, not used\n")])

# Malformed packages, for the errors: no manifest.json; manifest.json that is not JSON;
# a zip cut short.
write("broken-no-manifest.rmpkg", [("pipeline.json", read("calculator.rmpkg.json"))])
write("broken-bad-json.rmpkg", [("manifest.json", b"{\"version\": \"v1\", ")])
whole = read("calculator.rmpkg")
with open(os.path.join(HERE, "broken-truncated.rmpkg"), "wb") as f:
    f.write(whole[: len(whole) // 2])
