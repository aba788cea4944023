"""Both torch.onnx exporters write the same encexport::EncoderOnlyAttention node, and it runs in ORT CPU."""

import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import helper

from encexport import EncoderOnlyAttention, contract, export_target
from reference import attention_reference, cu_seqlens, pack, random_qkv


class OneLayer(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, q, k, v, lengths):
        if self.layer.layout == "packed":
            return self.layer(q, k, v, cu_seqlens=lengths)
        return self.layer(q, k, v, seq_lens=lengths)


def export(layer, args, path, exporter, target="encexport", opset=18):
    names = ["query", "key", "value", "lengths"]
    with export_target(target), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "legacy":
            torch.onnx.export(OneLayer(layer), args, str(path), dynamo=False, input_names=names,
                              output_names=["output"], opset_version=min(opset, 20),
                              dynamic_axes={n: {0: "d0"} for n in names})
        else:
            torch.onnx.export(OneLayer(layer), args, dynamo=True, input_names=names, output_names=["output"],
                              opset_version=opset).save(str(path))
    return onnx.load(str(path))


def node_signature(model):
    nodes = [n for n in model.graph.node if n.domain == contract.DOMAIN]
    assert len(nodes) == 1, [n.op_type for n in model.graph.node]
    n = nodes[0]
    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    types = {a.name: a.type for a in n.attribute}
    return n.op_type, attrs, types, len(n.input), len(n.output)


CASES = {
    "padded-mha": dict(H=4, Hkv=4, D=16, layout="padded"),
    "padded-gqa": dict(H=8, Hkv=2, D=32, layout="padded"),
    "packed-mqa": dict(H=4, Hkv=1, D=16, layout="packed"),
}


def make_inputs(case, dtype=torch.float32):
    lens = [7, 2, 5]
    q, k, v = random_qkv((len(lens), 7), case["H"], case["Hkv"], case["D"], dtype=dtype, seed=11)
    if case["layout"] == "packed":
        return (pack(q, lens), pack(k, lens), pack(v, lens), cu_seqlens(lens))
    return (q, k, v, torch.tensor(lens, dtype=torch.int32))


@pytest.mark.parametrize("name", CASES)
def test_both_exporters_write_the_same_node_and_it_runs(name, tmp_path, ort_library):
    from encexport import ort

    case = CASES[name]
    layer = EncoderOnlyAttention(case["H"], case["D"], num_kv_heads=case["Hkv"], layout=case["layout"])
    args = make_inputs(case)
    sigs = {}
    ref = attention_reference(*args, num_heads=case["H"], num_kv_heads=case["Hkv"], head_size=case["D"],
                              scale=case["D"] ** -0.5, layout=case["layout"]).numpy()
    for exporter in ("legacy", "dynamo"):
        model = export(layer, args, tmp_path / f"{exporter}.onnx", exporter)
        sigs[exporter] = node_signature(model)
        assert any(o.domain == contract.DOMAIN and o.version == contract.DOMAIN_VERSION for o in model.opset_import)
        sess = ort.session(tmp_path / f"{exporter}.onnx")
        feed = {i.name: a.numpy() for i, a in zip(sess.get_inputs(), args)}
        out = sess.run(None, feed)[0]
        assert np.abs(out - ref).max() < 1e-5, f"{name} {exporter}"
    assert sigs["legacy"] == sigs["dynamo"]
    op_type, attrs, types, n_in, n_out = sigs["dynamo"]
    assert op_type == contract.OP_TYPE and n_in == 4 and n_out == 1
    assert attrs["causal"] == 0 and attrs["backend"] == b"auto" and attrs["layout"] == case["layout"].encode()
    assert attrs["plugin_version"] == b"1" and attrs["plugin_namespace"] == b""
    assert types["scale"] == onnx.AttributeProto.FLOAT and types["num_heads"] == onnx.AttributeProto.INT
    assert [a.name for a in contract.ATTRIBUTES] == sorted(attrs, key=[a.name for a in contract.ATTRIBUTES].index)


def test_fp16_node_runs_on_ort_cpu(tmp_path, ort_library):
    from encexport import ort

    case = CASES["padded-gqa"]
    layer = EncoderOnlyAttention(case["H"], case["D"], num_kv_heads=case["Hkv"], dtype=torch.float16)
    args = make_inputs(case, torch.float16)
    export(layer, args, tmp_path / "m.onnx", "dynamo")
    sess = ort.session(tmp_path / "m.onnx")
    out = sess.run(None, {i.name: a.numpy() for i, a in zip(sess.get_inputs(), args)})[0]
    assert out.dtype == np.float16
    ref = attention_reference(*args, num_heads=case["H"], num_kv_heads=case["Hkv"], head_size=case["D"],
                              scale=case["D"] ** -0.5).numpy()
    assert np.abs(out.astype(np.float64) - ref).max() < 2e-3


@pytest.mark.parametrize("target,exporter,op", [
    ("decomposed", "legacy", "Softmax"), ("decomposed", "dynamo", "Softmax"),
    ("ms-mha", "legacy", "MultiHeadAttention"), ("ms-mha", "dynamo", "MultiHeadAttention"),
    ("onnx-attention", "dynamo", "Attention"),
])
def test_library_free_targets_match_reference(target, exporter, op, tmp_path):
    import onnxruntime

    case = CASES["padded-gqa"]
    layer = EncoderOnlyAttention(case["H"], case["D"], num_kv_heads=case["Hkv"])
    args = make_inputs(case)
    model = export(layer, args, tmp_path / "m.onnx", exporter, target=target, opset=23 if op == "Attention" else 18)
    assert op in {n.op_type for n in model.graph.node}
    assert not any(n.domain == contract.DOMAIN for n in model.graph.node)
    sess = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    feed = {i.name: a.numpy() for i, a in zip(sess.get_inputs(), args)}
    out = sess.run(None, feed)[0]
    ref = attention_reference(*args, num_heads=case["H"], num_kv_heads=case["Hkv"], head_size=case["D"],
                              scale=case["D"] ** -0.5).numpy()
    assert np.abs(out - ref).max() < 1e-5


def test_decomposed_packed_matches_reference(tmp_path):
    import onnxruntime

    case = CASES["packed-mqa"]
    layer = EncoderOnlyAttention(case["H"], case["D"], num_kv_heads=case["Hkv"], layout="packed")
    args = make_inputs(case)
    export(layer, args, tmp_path / "m.onnx", "dynamo", target="decomposed")
    sess = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    out = sess.run(None, {i.name: a.numpy() for i, a in zip(sess.get_inputs(), args)})[0]
    ref = attention_reference(*args, num_heads=case["H"], num_kv_heads=case["Hkv"], head_size=case["D"],
                              scale=case["D"] ** -0.5, layout="packed").numpy()
    assert np.abs(out - ref).max() < 1e-5


def test_onnx_attention_target_refuses_legacy_exporter(tmp_path):
    layer = EncoderOnlyAttention(2, 8)
    with pytest.raises(Exception, match="dynamo exporter"):
        export(layer, make_inputs(dict(H=2, Hkv=2, D=8, layout="padded")), tmp_path / "m.onnx", "legacy",
               target="onnx-attention")
