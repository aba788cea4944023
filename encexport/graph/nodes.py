"""Reading ONNX nodes, for the graph rewrites (optimize.py's fusions, build.py's TensorRT rewrite)."""

from __future__ import annotations

from onnx import NodeProto, helper


def attributes(node: NodeProto) -> dict[str, object]:
    """Every attribute of `node` by name, as Python values (strings stay bytes, as onnx returns them)."""
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def attribute(node: NodeProto, name: str, default=None):
    """One attribute of `node`, or `default` when the node does not set it."""
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def used_once(model, name: str, consumers: dict) -> bool:
    """`name` feeds exactly one node and is no graph output (an onnxruntime.transformers OnnxModel's graph),
    so a rewrite that removes its only consumer may remove its producer too."""
    return len(consumers.get(name, [])) == 1 and model.find_graph_output(name) is None


def reads_packed_qkv(node: NodeProto) -> bool:
    """Our attention node in the packed q|k|v form: key and value left empty, query holds q | k | v rows."""
    return len(node.input) < 3 or not node.input[1] or not node.input[2]


def attention_output_width(node: NodeProto) -> int:
    """Our attention node's output row width, num_heads*head_size (narrower than packed q|k|v query rows)."""
    a = attributes(node)
    return int(a["num_heads"]) * int(a["head_size"])
