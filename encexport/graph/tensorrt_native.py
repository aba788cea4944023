"""Our nodes rewritten into TensorRT's own `TRT_Attention` (TensorRT >= 10.15 / 11.x parsers), for a plugin-free
comparison engine: `encexport build --native-attention`.
"""

from __future__ import annotations

import os

import onnx
from onnx import TensorProto, helper

from .. import contract
from .nodes import attributes, reads_packed_qkv

TRT_DOMAIN = "trt"
NATIVE_OP = "TRT_Attention"


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _native_nodes(node: onnx.NodeProto, index: int) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """The TRT_Attention replacement of one EncoderOnlyAttention node, plus the constants it uses."""
    a = attributes(node)
    h = int(a["num_heads"])
    hkv = int(a.get("num_kv_heads", h))
    d = int(a["head_size"])
    scale = float(a.get("scale", d ** -0.5))
    if int(a.get("causal", 0)) != 0:
        raise ValueError(f"node {node.name!r}: causal=1 is not part of the contract (encoder-only)")
    packed = _text(a.get("layout", "padded")) == "packed"
    p = f"{node.name or contract.OP_TYPE}_{index}_native"
    q, k, v = node.input[:3]
    lengths = node.input[3] if len(node.input) > 3 and node.input[3] else ""
    consts = [
        helper.make_tensor(f"{p}_q_heads", TensorProto.INT64, [4 - packed], ([0, h, d] if packed else [0, 0, h, d])),
        helper.make_tensor(f"{p}_kv_heads", TensorProto.INT64, [4 - packed], ([0, hkv, d] if packed else [0, 0, hkv, d])),
        helper.make_tensor(f"{p}_rows", TensorProto.INT64, [3 - packed], ([0, h * d] if packed else [0, 0, h * d])),
    ]
    nodes: list[onnx.NodeProto] = []

    def heads(x: str, shape: str, name: str) -> str:
        nodes.append(helper.make_node("Reshape", [x, shape], [f"{p}_{name}_nhd"]))
        if packed:
            return f"{p}_{name}_nhd"  # [T, H, D]: packed_nhd
        nodes.append(helper.make_node("Transpose", [f"{p}_{name}_nhd"], [f"{p}_{name}_bhnd"], perm=[0, 2, 1, 3]))
        return f"{p}_{name}_bhnd"  # [B, H, S, D]: padded_bhnd

    qh, kh, vh = heads(q, consts[0].name, "q"), heads(k, consts[1].name, "k"), heads(v, consts[1].name, "v")
    form = "packed_nhd" if packed else "padded_bhnd"
    if packed:  # query and key/value share the cumulative lengths [B+1]
        query_lengths, kv_lengths = lengths, lengths
    else:  # padded: per-sequence key lengths [B]; no input = every key valid
        query_lengths, kv_lengths = "", lengths
    inputs = [qh, kh, vh, "", "", "", query_lengths, kv_lengths]
    while inputs and inputs[-1] == "":
        inputs.pop()
    attn_out = f"{p}_out"
    nodes.append(helper.make_node(NATIVE_OP, inputs, [attn_out], domain=TRT_DOMAIN, name=f"{p}_attention",
                                  query_form=form, kv_form=form, is_causal=0, scale=scale))
    rows = attn_out
    if not packed:
        nodes.append(helper.make_node("Transpose", [attn_out], [f"{p}_bshd"], perm=[0, 2, 1, 3]))
        rows = f"{p}_bshd"
    merged = f"{p}_merged" if (not packed and lengths) else node.output[0]
    nodes.append(helper.make_node("Reshape", [rows, consts[2].name], [merged]))
    if not packed and lengths:
        # Our contract writes zeros in padded query rows; TRT_Attention leaves them unspecified.
        consts += [helper.make_tensor(f"{p}_zero", TensorProto.INT64, [], [0]),
                   helper.make_tensor(f"{p}_one", TensorProto.INT64, [], [1]),
                   helper.make_tensor(f"{p}_axis1", TensorProto.INT64, [1], [1]),
                   helper.make_tensor(f"{p}_axis0", TensorProto.INT64, [1], [0]),
                   helper.make_tensor(f"{p}_axis2", TensorProto.INT64, [1], [2]),
                   helper.make_tensor(f"{p}_one_idx", TensorProto.INT64, [1], [1])]
        nodes += [
            helper.make_node("Shape", [q], [f"{p}_q_shape"]),
            helper.make_node("Gather", [f"{p}_q_shape", f"{p}_one"], [f"{p}_seq"], axis=0),
            helper.make_node("Range", [f"{p}_zero", f"{p}_seq", f"{p}_one"], [f"{p}_positions"]),
            helper.make_node("Cast", [lengths], [f"{p}_lengths64"], to=TensorProto.INT64),
            helper.make_node("Unsqueeze", [f"{p}_positions", f"{p}_axis0"], [f"{p}_positions_row"]),
            helper.make_node("Unsqueeze", [f"{p}_lengths64", f"{p}_axis1"], [f"{p}_lengths_col"]),
            helper.make_node("Less", [f"{p}_positions_row", f"{p}_lengths_col"], [f"{p}_valid"]),
            helper.make_node("Unsqueeze", [f"{p}_valid", f"{p}_axis2"], [f"{p}_valid3"]),
            helper.make_node("Sub", [merged, merged], [f"{p}_zeros"]),
            helper.make_node("Where", [f"{p}_valid3", merged, f"{p}_zeros"], [node.output[0]]),
        ]
    return nodes, consts


def build_native_attention_onnx(model: onnx.ModelProto | bytes | str | os.PathLike,
                                out_path: str | os.PathLike | None = None) -> onnx.ModelProto:
    """Rewrite every encexport::EncoderOnlyAttention node into TensorRT's native TRT_Attention (domain `trt`).

    padded: q/k/v [B,S,W] -> Reshape [B,S,H,D] -> Transpose [B,H,S,D] (padded_bhnd), seq_lens as kv_lengths
    [B], output transposed back and padded query rows zeroed (our contract). packed: Reshape [T,H,D]
    (packed_nhd), cu_seqlens [B+1] as both query_lengths and kv_lengths. Needs a TensorRT parser with
    TRT_Attention (10.15+/11.x); GQA relies on TRT_Attention accepting fewer key/value heads (as ONNX
    Attention-23 does)."""
    if isinstance(model, (str, os.PathLike)):
        model = onnx.load(str(model))
    elif isinstance(model, bytes):
        model = onnx.load_from_string(model)
    else:
        model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    new_nodes: list[onnx.NodeProto] = []
    replaced = 0
    for node in graph.node:
        if node.op_type == contract.OP_TYPE and node.domain == contract.DOMAIN:
            if reads_packed_qkv(node):
                raise ValueError(f"node {node.name!r} reads q|k|v packed in one input (the ONNX Runtime-optimized "
                                 "form); rewrite the model from `encexport export`, whose nodes take q, k, v apart")
            nodes, consts = _native_nodes(node, replaced)
            new_nodes += nodes
            graph.initializer.extend(consts)
            replaced += 1
        else:
            new_nodes.append(node)
    if replaced == 0:
        raise ValueError(f"no {contract.DOMAIN}::{contract.OP_TYPE} node in the model: nothing to rewrite")
    del graph.node[:]
    graph.node.extend(new_nodes)
    imports = [o for o in model.opset_import if o.domain != contract.DOMAIN]
    if not any(o.domain == TRT_DOMAIN for o in imports):
        imports.append(helper.make_opsetid(TRT_DOMAIN, 1))
    if not any(o.domain in ("", "ai.onnx") and o.version >= 13 for o in imports):
        raise ValueError("the rewrite needs a default-domain opset >= 13 (Unsqueeze/Squeeze with axes inputs)")
    del model.opset_import[:]
    model.opset_import.extend(imports)
    if out_path is not None:
        onnx.save(model, str(out_path))
    return model
