"""Shape annotations for the encexport nodes of an exported model.

ONNX shape inference knows nothing about a custom-domain op, so every tensor downstream of the first
attention node loses its type and shape. Graph tools that pattern-match on shapes (ONNX Runtime's
transformers optimizer: SkipLayerNormalization, BiasGelu fusions) then skip the whole encoder. The node's
output has the query's type and shape, num_heads*head_size wide (docs/onnx-contract.md), so we state that and
let standard inference carry it through the rest of the graph.
"""

from __future__ import annotations

import copy

import onnx
from onnx import shape_inference

from .. import contract
from .nodes import attention_output_width, reads_packed_qkv


def _value_infos(model: onnx.ModelProto) -> dict[str, onnx.ValueInfoProto]:
    g = model.graph
    return {vi.name: vi for vi in list(g.input) + list(g.value_info) + list(g.output)}


def _set_output_width(vi: onnx.ValueInfoProto, node: onnx.NodeProto) -> None:
    """Rows of num_heads*head_size: narrower than the query when it holds packed q|k|v (key/value empty)."""
    dims = vi.type.tensor_type.shape.dim
    if not reads_packed_qkv(node) or not dims:
        return
    dims[-1].Clear()
    dims[-1].dim_value = attention_output_width(node)


def annotate_attention_shapes(model: onnx.ModelProto, max_rounds: int = 256) -> onnx.ModelProto:
    """Return a copy of `model` whose encexport node outputs (and everything after them) carry types/shapes."""
    model = copy.deepcopy(model)
    nodes = [n for n in model.graph.node if n.domain == contract.DOMAIN and n.op_type == contract.OP_TYPE]
    for _ in range(max_rounds):  # one round per layer at worst: each round unblocks the next node
        model = shape_inference.infer_shapes(model)
        known = _value_infos(model)
        added = False
        for node in nodes:
            out, query = node.output[0], node.input[0]
            if out in known or query not in known:
                continue
            vi = onnx.ValueInfoProto()
            vi.CopyFrom(known[query])
            vi.name = out
            _set_output_width(vi, node)
            model.graph.value_info.append(vi)
            added = True
        if not added:
            return model
    return model
