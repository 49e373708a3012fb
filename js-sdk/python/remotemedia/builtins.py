"""Built-in Python nodes, as in the native RemoteMedia Python SDK."""
from .node import Node

_TEXT_OPERATIONS = {
    "uppercase": lambda t: t.upper(),
    "lowercase": lambda t: t.lower(),
    "reverse": lambda t: t[::-1],
    "word_count": lambda t: len(t.split()),
    "char_count": lambda t: len(t),
    "title_case": lambda t: t.title(),
    "remove_spaces": lambda t: t.replace(" ", ""),
    "first_word": lambda t: (t.split() or [""])[0],
    "last_word": lambda t: (t.split() or [""])[-1],
}


class TextProcessorNode(Node):
    """Text (or ``{"text", "operations"}``) -> ``{original_text, operations, results, processed_by}``."""

    def process(self, data):
        operations = self.config.get("operations", ["uppercase"])
        if isinstance(data, dict):
            text = str(data.get("text", ""))
            operations = data.get("operations", operations)
        else:
            text = str(data)
        unknown = [op for op in operations if op not in _TEXT_OPERATIONS]
        if unknown:
            raise ValueError(f"unknown text operation(s) {unknown}; known: {sorted(_TEXT_OPERATIONS)}")
        return {
            "original_text": text,
            "operations": list(operations),
            "results": {op: _TEXT_OPERATIONS[op](text) for op in operations},
            "processed_by": "TextProcessorNode",
        }


class DataTransformNode(Node):
    """Numbers (or lists of numbers, or ``{"value": n}``) -> passthrough, double or increment."""

    def process(self, data):
        operation = self.config.get("operation", "passthrough")
        apply = {"passthrough": lambda x: x, "double": lambda x: x * 2, "increment": lambda x: x + 1}.get(operation)
        if apply is None:
            raise ValueError(f"unknown operation {operation!r}; known: passthrough, double, increment")

        def transform(x):
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                return x
            return apply(x)

        if isinstance(data, list):
            return [[transform(x) for x in data]]
        if isinstance(data, dict) and "value" in data:
            return {**data, "value": transform(data["value"]), "operation": operation}
        return transform(data)
