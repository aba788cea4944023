"""Feed the fused QKV projection straight into the attention node: Split -> node(q, k, v) becomes node(qkv, "", "").

Patched attention layers run one q|k|v projection and split it for the node's three inputs. In ONNX Runtime
the Split copies q, k and v out (3 x tokens x width elements read and written per layer), although the
kernels can read them in place with the row stride of the fused projection. The packed q|k|v form of the
node (docs/onnx-contract.md: key and value empty) does exactly that.

The packed wrapper (PackedSentenceEncoder) runs the model on one row of tokens [1, T, ..] and drops that row
per tensor before the node ([T, ..]); here the row is dropped once, on the fused tensor, with a Squeeze
(a view in ONNX Runtime, where a Gather would copy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import NodeProto, helper, numpy_helper

from .. import contract
from .nodes import attribute, attributes, reads_packed_qkv, used_once


def _attention_attributes(node: NodeProto) -> tuple[int, int, int, str]:
    values = attributes(node)
    heads = int(values["num_heads"])
    layout = values.get("layout", b"padded")
    return heads, int(values.get("num_kv_heads", heads)), int(values["head_size"]), \
        layout.decode() if isinstance(layout, bytes) else layout


def _split_sizes(model, split: NodeProto) -> list[int] | None:
    """The Split's output widths, or None when they are not constants."""
    if len(split.input) > 1 and split.input[1]:
        sizes = model.get_constant_value(split.input[1])
        return None if sizes is None else [int(s) for s in np.asarray(sizes).reshape(-1)]
    sizes = attribute(split, "split")  # opset < 13
    return [int(s) for s in sizes] if sizes else None


def _drops_leading_row(model, node: NodeProto | None) -> bool:
    """Gather(x, 0) on axis 0 with a scalar index, or Squeeze(x, axes=[0]): [1, T, W] -> [T, W]."""
    if node is None:
        return False
    if node.op_type == "Gather" and attribute(node, "axis", 0) == 0:
        index = model.get_constant_value(node.input[1])
        return index is not None and np.ndim(index) == 0 and int(index) == 0
    if node.op_type == "Squeeze":
        axes = model.get_constant_value(node.input[1]) if len(node.input) > 1 else attribute(node, "axes")
        return axes is not None and [int(a) for a in np.asarray(axes).reshape(-1)] == [0]
    return False


@dataclass
class _QkvSource:
    """Where one node's q, k, v come from: a Split's outputs 0, 1, 2, directly or through row drops."""

    split: NodeProto
    row_drops: list[NodeProto]


def _find_source(model, node: NodeProto, producers: dict, consumers: dict) -> _QkvSource | None:
    if reads_packed_qkv(node):
        return None  # already packed (or malformed: left to the runtime's checks)
    qkv = list(node.input[:3])
    first = [producers.get(name) for name in qkv]
    row_drops = []
    if all(_drops_leading_row(model, p) for p in first):
        row_drops, qkv = first, [p.input[0] for p in first]
    split = producers.get(qkv[0])
    if split is None or split.op_type != "Split" or list(split.output) != qkv:
        return None
    # Every Split output (and row drop) must feed this node only: the rewrite removes them.
    if not all(used_once(model, name, consumers) for name in list(split.output) + [d.output[0] for d in row_drops]):
        return None
    return _QkvSource(split, row_drops)


def _splits_q_k_v(model, source: _QkvSource, node: NodeProto) -> bool:
    """The Split cuts the last axis into [H*D, Hkv*D, Hkv*D]: exactly the packed q|k|v row of the contract."""
    heads, kv_heads, head_size, layout = _attention_attributes(node)
    rank = (3 if layout == "padded" else 2) + (1 if source.row_drops else 0)
    if attribute(source.split, "axis", 0) not in (-1, rank - 1):
        return False
    sizes = _split_sizes(model, source.split)
    if sizes is None:  # equal parts
        return heads == kv_heads and attribute(source.split, "num_outputs", 3) == 3
    return sizes == [heads * head_size, kv_heads * head_size, kv_heads * head_size]


def _drop_leading_row(model, name: str) -> str:
    """Squeeze(name, axes=[0]): [1, T, W] -> [T, W] without a copy."""
    squeeze = helper.make_node("Squeeze", [name], [name + "_row"], name=model.create_node_name("Squeeze", "qkv_row"))
    if model.get_opset_version() >= 13:  # axes became an input in opset 13
        axes = name + "_row_axes"
        model.add_initializer(numpy_helper.from_array(np.array([0], np.int64), axes))
        squeeze.input.append(axes)
    else:
        squeeze.attribute.append(helper.make_attribute("axes", [0]))
    model.add_node(squeeze)
    return squeeze.output[0]


def _leading_row_is_single(model, source: _QkvSource, shapes) -> bool:
    """A Gather of row 0 equals a Squeeze only when there is one row: [1, T, W] (the packed wrapper's)."""
    if all(d.op_type == "Squeeze" for d in source.row_drops):
        return True
    shape = shapes.get_edge_shape(source.split.input[0]) if shapes is not None else None
    return bool(shape) and shape[0] == 1


def pack_qkv_inputs(model) -> int:
    """Rewrite every eligible node of `model` (an onnxruntime.transformers OnnxModel) to the packed q|k|v form.

    Returns how many nodes were rewritten; nodes fed any other way are left as they are. Row drops by Gather
    are checked with ORT's symbolic shape inference (run inside optimize.py's context, which knows our node).
    """
    producers = model.output_name_to_node()
    consumers = model.input_name_to_nodes()
    candidates = []
    for node in model.nodes():
        if node.op_type != contract.OP_TYPE or node.domain != contract.DOMAIN:
            continue
        source = _find_source(model, node, producers, consumers)
        if source is not None and _splits_q_k_v(model, source, node):
            candidates.append((node, source))
    shapes = model.infer_runtime_shape(update=True) if any(s.row_drops for _, s in candidates) else None
    rewritten = 0
    for node, source in candidates:
        if source.row_drops and not _leading_row_is_single(model, source, shapes):
            continue
        packed = source.split.input[0]
        if source.row_drops:
            packed = _drop_leading_row(model, packed)
        node.input[0], node.input[1], node.input[2] = packed, "", ""
        removed = [source.split, *source.row_drops]
        model.remove_nodes(removed)
        _forget_shapes(model, {name for n in removed for name in n.output})
        rewritten += 1
    if rewritten:
        model.update_graph()  # drops the Split's now unused size constants
        model.topological_sort()
    return rewritten


def _forget_shapes(model, names: set[str]) -> None:
    """Remove value_info of tensors that no longer exist (a later shape inference must not trust them)."""
    kept = [vi for vi in model.model.graph.value_info if vi.name not in names]
    del model.model.graph.value_info[:]
    model.model.graph.value_info.extend(kept)
