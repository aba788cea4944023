"""fuse_qkv: Split(q|k|v projection) -> node(q, k, v) becomes node(qkv, "", ""), numbers unchanged; anything
else the rewrite cannot prove equivalent is left alone. Small hand-built graphs, run in ORT CPU before and after."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from encexport import contract, ort
from encexport.graph.fuse_qkv import pack_qkv_inputs
from encexport.graph.ort_optimizer import symbolic_inference_knows_our_graphs

WIDTH = 32


def _graph(H, Hkv, D, layout, *, sizes=None, order=(0, 1, 2), extra_output=False, rows=1) -> onnx.ModelProto:
    """x -> MatMul -> Add(bias) -> Split(last axis) -> [packed: Gather(row 0)] -> node -> output."""
    rng = np.random.default_rng(H * 100 + Hkv * 10 + D)
    qkv_width = (H + 2 * Hkv) * D
    sizes = sizes or [H * D, Hkv * D, Hkv * D]
    inits = [numpy_helper.from_array(rng.standard_normal((WIDTH, qkv_width)).astype(np.float32) * 0.2, "w"),
             numpy_helper.from_array(rng.standard_normal(qkv_width).astype(np.float32), "b"),
             numpy_helper.from_array(np.array(sizes, np.int64), "sizes"),
             numpy_helper.from_array(np.array(0, np.int64), "row")]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["proj"]), helper.make_node("Add", ["proj", "b"], ["qkv"]),
             helper.make_node("Split", ["qkv", "sizes"], ["s0", "s1", "s2"], axis=-1)]
    parts = ["s0", "s1", "s2"]
    if layout == "packed":  # the packed wrapper's one row of tokens [1, T, ..] dropped per tensor
        nodes += [helper.make_node("Gather", [p, "row"], [p + "_t"], axis=0) for p in parts]
        parts = [p + "_t" for p in parts]
    attrs = contract.node_attributes(num_heads=H, num_kv_heads=Hkv, head_size=D, scale=D ** -0.5, backend="auto",
                                     layout=layout)
    nodes.append(helper.make_node(contract.OP_TYPE, [parts[i] for i in order] + ["lengths"], ["out"],
                                  domain=contract.DOMAIN, **attrs))
    x_shape = [rows, "T", WIDTH] if layout == "packed" else ["B", "S", WIDTH]
    outputs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)]
    if extra_output:
        outputs.append(helper.make_tensor_value_info("s1", TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "qkv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape),
                                             helper.make_tensor_value_info("lengths", TensorProto.INT32, ["L"])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(contract.DOMAIN, contract.DOMAIN_VERSION)])
    model.ir_version = 8
    return model


def _feeds(layout):
    x = np.random.default_rng(0).standard_normal((1, 9, WIDTH) if layout == "packed" else (3, 4, WIDTH))
    lengths = [0, 4, 9] if layout == "packed" else [4, 1, 0]
    return {"x": x.astype(np.float32), "lengths": np.array(lengths, np.int32)}


def _rewrite(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    from onnxruntime.transformers.onnx_model import OnnxModel

    wrapped = OnnxModel(onnx.ModelProto.FromString(model.SerializeToString()))
    with symbolic_inference_knows_our_graphs():
        count = pack_qkv_inputs(wrapped)
    return wrapped.model, count


def _run(model: onnx.ModelProto, layout):
    return ort.session(model.SerializeToString()).run(None, _feeds(layout))


@pytest.mark.parametrize("H,Hkv,D", [(4, 4, 8), (8, 2, 16), (4, 1, 8)])
@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_split_is_replaced_by_the_packed_form(H, Hkv, D, layout, ort_library):
    model = _graph(H, Hkv, D, layout)
    rewritten, count = _rewrite(model)
    ops = [n.op_type for n in rewritten.graph.node]
    node = next(n for n in rewritten.graph.node if n.op_type == contract.OP_TYPE)
    assert count == 1 and "Split" not in ops and "Gather" not in ops, ops
    assert list(node.input[1:3]) == ["", ""]
    assert ops.count("Squeeze") == (layout == "packed")
    assert not [i for i in rewritten.graph.initializer if i.name == "sizes"], "the Split's sizes stay behind"
    before, after = _run(model, layout)[0], _run(rewritten, layout)[0]
    assert before.shape == after.shape and np.abs(before - after).max() < 1e-6


@pytest.mark.parametrize("case", [
    dict(order=(1, 0, 2)),                  # k fed as query: not the contract's q|k|v row
    dict(sizes=[16, 32, 16]),               # parts not [H*D, Hkv*D, Hkv*D] = [32, 16, 16]
    dict(extra_output=True),                # k is needed elsewhere: the Split must stay
    dict(layout="packed", rows="N"),        # Gather(row 0) of maybe several rows is not a Squeeze
])
def test_other_graphs_are_left_alone(case, ort_library):
    model = _graph(4, 2, 8, case.pop("layout", "padded"), **case)
    rewritten, count = _rewrite(model)
    assert count == 0 and [n.op_type for n in rewritten.graph.node] == [n.op_type for n in model.graph.node]
