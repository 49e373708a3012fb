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
    """Text (or ``{"text", "operations"}``) -> ``{original_text, operations, results,
    processed_by, node_config}``, as the original SDK's node: ``processed_by`` is
    ``TextProcessorNode[<name>]`` and an unknown operation gives
    ``results["unknown_operation_<op>"] = "Unknown operation: <op>"``. A plain string
    item (an extension) is processed with the ``operations`` param."""

    def process(self, data):
        operations = self.config.get("operations", ["uppercase"])
        if isinstance(operations, str):
            operations = [operations]
        if isinstance(data, dict):
            if "text" not in data:
                return {
                    "error": "Input must contain 'text' key",
                    "input": data,
                    "processed_by": f"TextProcessorNode[{self.name}]",
                }
            text = data["text"]
            operations = data.get("operations", operations)
        else:
            text = str(data)
        results = {}
        for op in operations:
            apply = _TEXT_OPERATIONS.get(op)
            if apply is None:
                results[f"unknown_operation_{op}"] = f"Unknown operation: {op}"
            else:
                results[op] = apply(text)
        return {
            "original_text": text,
            "operations": operations,
            "results": results,
            "processed_by": f"TextProcessorNode[{self.name}]",
            "node_config": self.config,
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
            return [transform(x) for x in data]
        if isinstance(data, dict) and "value" in data:
            return {**data, "value": transform(data["value"]), "operation": operation}
        return transform(data)
