"""One-node ONNX models for the ONNX Runtime peers (and our node), built with onnx.helper."""

from __future__ import annotations

from onnx import TensorProto, helper

from .. import contract

ELEM = {"float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16, "float32": TensorProto.FLOAT}


def _model(node, inputs, outputs, opsets) -> bytes:
    graph = helper.make_graph([node], node.op_type, inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 10
    return model.SerializeToString()


def _t(name, elem, dims):
    return helper.make_tensor_value_info(name, elem, dims)


def encexport_node(dtype: str, heads: int, kv_heads: int, head_size: int, scale: float, layout: str,
                   backend: str = "auto", with_lengths: bool = True) -> bytes:
    """Our node; a padded node without lengths (with_lengths=False) treats every position as valid."""
    e = ELEM[dtype]
    rank = ["B", "S"] if layout == "padded" else ["T"]
    ins = [_t("query", e, rank + [heads * head_size]), _t("key", e, rank + [kv_heads * head_size]),
           _t("value", e, rank + [kv_heads * head_size])]
    if with_lengths or layout == "packed":
        ins.append(_t("lengths", TensorProto.INT32, ["L"]))
    attrs = contract.node_attributes(num_heads=heads, num_kv_heads=kv_heads, head_size=head_size, scale=scale,
                                     backend=backend, layout=layout)
    node = helper.make_node(contract.OP_TYPE, [i.name for i in ins], ["output"], domain=contract.DOMAIN, **attrs)
    return _model(node, ins, [_t("output", e, rank + [heads * head_size])],
                  [("", 18), (contract.DOMAIN, contract.DOMAIN_VERSION)])


def multihead_attention(dtype: str, heads: int, head_size: int, scale: float, masked: bool) -> bytes:
    """com.microsoft.MultiHeadAttention, [B, S, H*D] inputs, optional key_padding_mask as 1-D key lengths [B]
    int32: the mask form that keeps ORT's fused kernels available (a 2-D [B, S] mask rules them out)."""
    e = ELEM[dtype]
    w = heads * head_size
    ins = [_t("query", e, ["B", "S", w]), _t("key", e, ["B", "S", w]), _t("value", e, ["B", "S", w])]
    names = ["query", "key", "value"]
    if masked:
        ins.append(_t("key_padding_mask", TensorProto.INT32, ["B"]))
        names += ["", "key_padding_mask"]
    node = helper.make_node("MultiHeadAttention", names, ["output"], domain="com.microsoft", num_heads=heads,
                            scale=scale)
    return _model(node, ins, [_t("output", e, ["B", "S", w])], [("", 18), ("com.microsoft", 1)])


def packed_multihead_attention(dtype: str, heads: int, head_size: int, scale: float) -> bytes:
    """com.microsoft.PackedMultiHeadAttention: [T, H*D] + token_offset [B, S] + cumulative_sequence_length."""
    e = ELEM[dtype]
    w = heads * head_size
    ins = [_t("query", e, ["T", w]), _t("key", e, ["T", w]), _t("value", e, ["T", w]),
           _t("token_offset", TensorProto.INT32, ["B", "S"]), _t("cumulative_sequence_length", TensorProto.INT32, ["C"])]
    node = helper.make_node("PackedMultiHeadAttention",
                            ["query", "key", "value", "", "token_offset", "cumulative_sequence_length"], ["output"],
                            domain="com.microsoft", num_heads=heads, scale=scale)
    return _model(node, ins, [_t("output", e, ["T", w])], [("", 18), ("com.microsoft", 1)])


def attention23(dtype: str, heads: int, kv_heads: int, head_size: int, scale: float, masked: bool) -> bytes:
    """ONNX Attention (opset 23), 3-D inputs with q_num_heads/kv_num_heads, optional bool mask [B, 1, S, S]."""
    e = ELEM[dtype]
    ins = [_t("Q", e, ["B", "S", heads * head_size]), _t("K", e, ["B", "S", kv_heads * head_size]),
           _t("V", e, ["B", "S", kv_heads * head_size])]
    names = ["Q", "K", "V"]
    if masked:
        ins.append(_t("attn_mask", TensorProto.BOOL, ["B", 1, "S", "S"]))
        names.append("attn_mask")
    node = helper.make_node("Attention", names, ["Y"], q_num_heads=heads, kv_num_heads=kv_heads, scale=scale)
    return _model(node, ins, [_t("Y", e, ["B", "S", heads * head_size])], [("", 23)])
