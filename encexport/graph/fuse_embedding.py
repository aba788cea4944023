"""EmbedLayerNormalization for the embedding layer of our exports, which ONNX Runtime's optimizer leaves unfused.

ORT's own pattern (onnxruntime/transformers/fusion_embedlayer.py) wants the embedding LayerNorm to feed three
Q/K/V MatMuls or a fused Attention node, and positions 0..S-1 derived from input_ids' shape. A patched model
feeds one fused QKV MatMul, and the packed wrapper gathers explicit positions per token, so the three Gathers,
two Adds and the LayerNormalization would stay six kernels. com.microsoft.EmbedLayerNormalization computes
LayerNorm(word[ids] + segment[segment_ids] + position[position_ids]) in one and takes explicit position ids
(input 8), which covers both layouts; positions that are exactly 0..S-1 are left implicit, as the stock graph has them.

Matched (Hugging Face BERT/RoBERTa embeddings, ORT's order too):
    LayerNormalization(Add(Add(Gather(word, ids), Gather(segment, segment_ids)), Gather(position, position_ids)))
    LayerNormalization(Add(Gather(word, ids), Gather(position, position_ids)))                 (no segments)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import NodeProto, TensorProto, helper

from .nodes import attribute, used_once


@dataclass
class _Embedding:
    layer_norm: NodeProto
    adds: list[NodeProto]
    word: NodeProto  # Gather(table, indices)
    position: NodeProto
    segment: NodeProto | None


def _table_gather(model, name: str, producers: dict, consumers: dict, *, shape_users: bool = False) -> NodeProto | None:
    """The Gather producing `name` from a constant 2-D table, if only this sum uses it (and, for the word
    embeddings, Shape nodes: DistilBERT reads the sequence length there; the fused output has that shape too)."""
    node = producers.get(name)
    if node is None or node.op_type != "Gather" or attribute(node, "axis", 0) != 0:
        return None
    table = model.get_initializer(node.input[0])
    users = [u for u in consumers.get(name, []) if not (shape_users and u.op_type == "Shape")]
    if table is None or len(table.dims) != 2 or len(users) != 1 or model.find_graph_output(name) is not None:
        return None
    return node


def _match(model, ln: NodeProto, producers: dict, consumers: dict) -> _Embedding | None:
    if len(ln.input) < 3 or any(ln.output[1:]) or attribute(ln, "axis", -1) != -1:
        return None
    if model.get_initializer(ln.input[1]) is None or model.get_initializer(ln.input[2]) is None:
        return None
    outer = producers.get(ln.input[0])
    if outer is None or outer.op_type != "Add" or not used_once(model, outer.output[0], consumers):
        return None
    position = _table_gather(model, outer.input[1], producers, consumers)
    if position is None:
        return None
    word = _table_gather(model, outer.input[0], producers, consumers, shape_users=True)
    if word is not None:
        return _Embedding(ln, [outer], word, position, None)
    inner = producers.get(outer.input[0])
    if inner is None or inner.op_type != "Add" or not used_once(model, inner.output[0], consumers):
        return None
    word = _table_gather(model, inner.input[0], producers, consumers, shape_users=True)
    segment = _table_gather(model, inner.input[1], producers, consumers)
    if word is None or segment is None:
        return None
    return _Embedding(ln, [outer, inner], word, position, segment)


def _widths_agree(model, e: _Embedding) -> bool:
    gathers = [g for g in (e.word, e.position, e.segment) if g is not None]
    widths = {model.get_initializer(g.input[0]).dims[1] for g in gathers}
    gamma = model.get_initializer(e.layer_norm.input[1])
    return len(widths) == 1 and list(gamma.dims) == list(widths)


def _implicit_positions(model, position_ids: str, ids_shape, producers: dict, shapes) -> bool:
    """position_ids = arange(P)[None, 0:S] (Hugging Face's position_ids buffer, sliced): the fused op's default."""
    node = producers.get(position_ids)
    if node is None or node.op_type != "Slice" or len(node.input) < 4:
        return False
    data = model.get_constant_value(node.input[0])
    starts, axes = model.get_constant_value(node.input[1]), model.get_constant_value(node.input[3])
    steps = model.get_constant_value(node.input[4]) if len(node.input) > 4 and node.input[4] else np.array([1])
    if data is None or starts is None or axes is None or steps is None or np.ndim(data) != 2 or data.shape[0] != 1:
        return False
    if not np.array_equal(data[0], np.arange(data.shape[1])):
        return False
    if [np.asarray(x).tolist() for x in (starts, steps)] != [[0], [1]] or np.asarray(axes).tolist() not in ([1], [-1]):
        return False
    return shapes.get_edge_shape(position_ids) == [1, ids_shape[1]]


def _int32(model, name: str, producers: dict) -> str:
    """`name` as int32, the index type the fused op takes (a Cast, shared by every user)."""
    graph_input = model.find_graph_input(name)
    if graph_input is not None and graph_input.type.tensor_type.elem_type == TensorProto.INT32:
        return name
    cast_name = name + "_int32"
    if cast_name not in producers:
        cast = helper.make_node("Cast", [name], [cast_name], to=TensorProto.INT32,
                                name=model.create_node_name("Cast", "embedding_index"))
        model.add_node(cast)
        producers[cast_name] = cast
    return cast_name


def _fuse(model, e: _Embedding, producers: dict, consumers: dict, shapes) -> bool:
    ids, position_ids = e.word.input[1], e.position.input[1]
    ids_shape = shapes.get_edge_shape(ids)
    if ids_shape is None or len(ids_shape) != 2:
        return False  # the fused op takes ids [batch, sequence]
    if e.segment is not None and shapes.get_edge_shape(e.segment.input[1]) != ids_shape:
        return False
    implicit = _implicit_positions(model, position_ids, ids_shape, producers, shapes)
    shape_users = [u for u in consumers.get(e.word.output[0], []) if u.op_type == "Shape"]
    if shape_users and not implicit:
        return False  # explicit positions may be computed from that Shape: rewiring it could close a cycle
    if not implicit:
        shape = shapes.get_edge_shape(position_ids)
        if shape is None or len(shape) != 2 or shape[1] != ids_shape[1] or shape[0] not in (1, ids_shape[0]):
            return False
    ln = e.layer_norm
    inputs = [_int32(model, ids, producers),
              _int32(model, e.segment.input[1], producers) if e.segment is not None else "",
              e.word.input[0], e.position.input[0], e.segment.input[0] if e.segment is not None else "",
              ln.input[1], ln.input[2]]
    if not implicit:
        inputs += ["", _int32(model, position_ids, producers)]  # input 7 (mask) stays empty
    name = model.create_node_name("EmbedLayerNormalization")
    # Output 1 (mask_index) is optional in the schema, but ORT's type inference for the op writes it: name it.
    fused = helper.make_node("EmbedLayerNormalization", inputs, [ln.output[0], name + "_mask_index"],
                             domain="com.microsoft", name=name, epsilon=float(attribute(ln, "epsilon", 1e-5)))
    for shape in shape_users:  # left dead by implicit positions (pruned below), but kept valid meanwhile
        shape.input[0] = ln.output[0]  # [batch, sequence, hidden], as the word embeddings (ids set the shape)
    model.remove_nodes([ln, *e.adds, e.word, e.position] + ([e.segment] if e.segment is not None else []))
    model.add_node(fused)
    return True


def fuse_embedding_layer_norm(model) -> int:
    """Fuse every matching embedding of `model` (an onnxruntime.transformers OnnxModel); returns how many.

    Needs ORT's symbolic shape inference to verify the index shapes (run inside optimize.py's context, which
    teaches it our attention node); without shapes nothing is fused.
    """
    producers = model.output_name_to_node()
    consumers = model.input_name_to_nodes()
    matches = [m for ln in model.get_nodes_by_op_type("LayerNormalization")
               if (m := _match(model, ln, producers, consumers)) is not None and _widths_agree(model, m)]
    if not matches:
        return 0
    shapes = model.infer_runtime_shape(update=True)
    if shapes is None:
        return 0
    fused = sum(_fuse(model, m, producers, consumers, shapes) for m in matches)
    if fused:
        model.prune_graph(allow_remove_graph_inputs=False)  # the position-id arithmetic an implicit range replaced
        model.topological_sort()
    return fused
