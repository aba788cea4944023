"""encexport.build: the TensorRT engine build (only where tensorrt is importable), the message when it is
not, the profile/shape parsing, and the plugin-free TRT_Attention rewrite (checked with onnx's checker and
shape inference, since no TensorRT parser is available to run it)."""

from __future__ import annotations

import builtins
import importlib.util

import onnx
import pytest
from onnx import TensorProto, helper

from encexport import build, contract
from encexport.graph.tensorrt_native import build_native_attention_onnx
from onnx_models import attention_model


def _without_tensorrt(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "tensorrt" or name.startswith("tensorrt."):
            raise ImportError("No module named 'tensorrt'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_missing_tensorrt_message_names_the_fix(monkeypatch, tmp_path):
    _without_tensorrt(monkeypatch)
    model = tmp_path / "m.onnx"
    model.write_bytes(attention_model())
    with pytest.raises(build.TensorRTUnavailable) as info:
        build.build_engine(model, tmp_path / "m.engine")
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "pip install tensorrt" in message and "not importable" in message


def test_cli_reports_missing_tensorrt_without_traceback(monkeypatch, tmp_path, capsys):
    _without_tensorrt(monkeypatch)
    from encexport.cli.main import main

    model = tmp_path / "m.onnx"
    model.write_bytes(attention_model())
    assert main(["build", "--onnx", str(model), "--out", str(tmp_path / "m.engine")]) == 2
    assert "pip install tensorrt" in capsys.readouterr().err


def test_parse_shapes():
    assert build.parse_shapes("query:1x128x768,lengths:1") == {"query": (1, 128, 768), "lengths": (1,)}
    assert build.parse_shapes(None) == {}
    with pytest.raises(ValueError, match="NAME:DIM"):
        build.parse_shapes("1x128")


def test_profile_defaults_and_overrides():
    model = onnx.load_from_string(attention_model(num_heads=2, head_size=8))
    shapes = build.profile_shapes(model)
    lo, opt, hi = shapes["query"]
    assert lo[0] == 1 and lo[1] == 1 and all(a <= b <= c for a, b, c in zip(lo, opt, hi))
    shapes = build.profile_shapes(model, opt_shapes={"query": (2, 64, 16)})
    assert shapes["query"] == ((2, 64, 16),) * 3  # only opt given: min = max = opt (as trtexec)
    with pytest.raises(ValueError, match="min <= opt <= max"):
        build.profile_shapes(model, min_shapes={"query": (4, 64, 16)}, max_shapes={"query": (2, 64, 16)})
    with pytest.raises(ValueError, match="unknown inputs"):
        build.profile_shapes(model, opt_shapes={"nope": (1,)})


@pytest.mark.parametrize("layout,with_lengths", [("padded", True), ("padded", False), ("packed", True)])
@pytest.mark.parametrize("heads", [(4, 4), (8, 2)])
def test_native_attention_rewrite_is_a_valid_graph(layout, with_lengths, heads):
    h, hkv = heads
    model = onnx.load_from_string(attention_model(num_heads=h, num_kv_heads=hkv, head_size=16, layout=layout,
                                                  dtype="float16", with_lengths=with_lengths))
    native = build_native_attention_onnx(model)
    onnx.checker.check_model(native, full_check=False)
    ops = [n.op_type for n in native.graph.node]
    assert contract.OP_TYPE not in ops and ops.count("TRT_Attention") == 1
    attn = next(n for n in native.graph.node if n.op_type == "TRT_Attention")
    attrs = {a.name: helper.get_attribute_value(a) for a in attn.attribute}
    form = b"packed_nhd" if layout == "packed" else b"padded_bhnd"
    assert attrs["query_form"] == attrs["kv_form"] == form and attrs["is_causal"] == 0
    assert attrs["scale"] == pytest.approx(16 ** -0.5)
    assert attn.input[3:6] == ["", "", ""][: max(0, len(attn.input) - 3)]  # no mask, no KV cache
    if layout == "packed":
        assert attn.input[6] == attn.input[7] == "lengths"  # cu_seqlens for both
    elif with_lengths:
        assert attn.input[6] == "" and attn.input[7] == "lengths"
        assert "Where" in ops  # padded query rows zeroed as the contract says
    else:
        assert len(attn.input) == 3
    assert {o.domain for o in native.opset_import} >= {"", "trt"}
    assert contract.DOMAIN not in {o.domain for o in native.opset_import}
    # Shape inference runs through the rewritten graph (TRT_Attention itself stays opaque to onnx).
    inferred = onnx.shape_inference.infer_shapes(native, strict_mode=False)
    shapes = {v.name: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim] for v in inferred.graph.value_info}
    q_heads = next(n.output[0] for n in native.graph.node if n.op_type == "Reshape")
    assert shapes[q_heads][-2:] == [h, 16]


def test_native_rewrite_refuses_a_model_without_our_node():
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    with pytest.raises(ValueError, match="nothing to rewrite"):
        build_native_attention_onnx(helper.make_model(graph))


def test_native_rewrite_refuses_the_packed_qkv_form_with_the_fix():
    model = onnx.load_from_string(attention_model(num_heads=4, head_size=16, dtype="float16", packed_qkv=True))
    with pytest.raises(ValueError, match="encexport export"):
        build_native_attention_onnx(model)


@pytest.mark.trt
@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="tensorrt is not installed")
def test_real_engine_build_and_run_match_sdpa(tmp_path):
    """With TensorRT and a GPU: `pytest -m trt tests/test_build.py` builds an fp16 engine holding our plugin, runs
    it with uneven lengths and compares with the independent reference (the one command a TensorRT user runs)."""
    trt = pytest.importorskip("tensorrt")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    try:
        build.plugin_library_path("auto")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    from reference import attention_reference, random_qkv

    heads, head_size, batch, seq = 2, 64, 2, 64
    model = tmp_path / "m.onnx"
    model.write_bytes(attention_model(num_heads=heads, head_size=head_size, dtype="float16"))
    width = heads * head_size
    out = build.build_engine(model, tmp_path / "m.engine", opt_shapes={
        "query": (batch, seq, width), "key": (batch, seq, width), "value": (batch, seq, width), "lengths": (batch,)})
    assert out.stat().st_size > 0

    q, k, v = random_qkv((batch, seq), heads, heads, head_size, dtype=torch.float16, seed=3)
    lengths = torch.tensor([seq, 17], dtype=torch.int32)
    engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(out.read_bytes())
    context = engine.create_execution_context()
    feeds = {"query": q.cuda(), "key": k.cuda(), "value": v.cuda(), "lengths": lengths.cuda()}
    result = torch.empty_like(feeds["query"])
    for name, tensor in feeds.items():
        context.set_input_shape(name, tuple(tensor.shape))
        context.set_tensor_address(name, tensor.data_ptr())
    context.set_tensor_address("output", result.data_ptr())
    assert context.execute_async_v3(torch.cuda.current_stream().cuda_stream)
    torch.cuda.synchronize()
    ref = attention_reference(q, k, v, lengths, num_heads=heads, num_kv_heads=heads, head_size=head_size,
                              scale=head_size ** -0.5)
    assert (result.cpu().double() - ref).abs().max() < 1e-2
