"""Tiny ONNX graphs holding one encexport::EncoderOnlyAttention node, built directly with onnx.helper."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from encexport import contract

ELEM = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16}


def attention_model(*, num_heads=2, head_size=8, layout="padded", dtype="float32", with_lengths=True,
                    opset=18, packed_qkv=False, bias_shape=None, bias_dtype=None, **attrs) -> bytes:
    """A model whose node carries exactly the given attributes (None drops one; extra keys are added).

    packed_qkv: the node reads q, k, v from `query` alone (key and value inputs empty); the graph has no key/value.
    bias_shape: add input 4, attn_bias, with these dims (None entries are symbolic; None: no bias), of bias_dtype
    (default: dtype); without lengths, input 3 is left empty.
    """
    base = {"num_heads": num_heads, "num_kv_heads": num_heads, "head_size": head_size, "scale": head_size ** -0.5 if head_size else 0.35,
            "causal": 0, "backend": "auto", "layout": layout, "plugin_version": contract.PLUGIN_VERSION,
            "plugin_namespace": contract.PLUGIN_NAMESPACE}
    base.update(attrs)
    node_attrs = {k: v for k, v in base.items() if v is not None}
    rank = 3 if layout == "padded" else 2
    dims = ["B", "S", None][:rank - 1] + [None]
    elem = ELEM[dtype]

    def value(name):
        return helper.make_tensor_value_info(name, elem, [d if d else None for d in dims])

    inputs = [value("query")] if packed_qkv else [value("query"), value("key"), value("value")]
    names = ["query", "", ""] if packed_qkv else ["query", "key", "value"]
    if with_lengths:
        inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, [None]))
        names.append("lengths")
    if bias_shape is not None:
        names += [""] * (contract.BIAS_INPUT - len(names)) + ["attn_bias"]
        inputs.append(helper.make_tensor_value_info("attn_bias", ELEM[bias_dtype or dtype], list(bias_shape)))
    while names[-1] == "":  # trailing empty inputs are left out, as exporters write them
        names.pop()
    node = helper.make_node(contract.OP_TYPE, names, ["output"], domain=contract.DOMAIN, **node_attrs)
    graph = helper.make_graph([node], "one_attention", inputs, [value("output")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                    helper.make_opsetid(contract.DOMAIN, contract.DOMAIN_VERSION)])
    model.ir_version = 10
    return model.SerializeToString()
