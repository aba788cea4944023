"""The ONNX Runtime CUDA-EP op: a one-node graph (encexport::EncoderOnlyAttention) run with
CUDAExecutionProvider, CPU fallback disabled so the node provably runs on the GPU, against SDPA fp32 math.

Needs onnxruntime-gpu (CUDAExecutionProvider); skipped with the reason otherwise. bfloat16 is not covered
here because ORT's Python API feeds numpy arrays and numpy has no bfloat16 (the kernel tests cover bf16).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from attention_oracle import cu_seqlens, pack, sdpa_padded, unpack  # noqa: E402

pytestmark = pytest.mark.gpu


def _model(elem, layout, heads, kv_heads, head_size, scale, backend, with_lengths=True):
    from onnx import TensorProto, helper

    if layout == "padded":
        q = helper.make_tensor_value_info("q", elem, ["B", "S", heads * head_size])
        k = helper.make_tensor_value_info("k", elem, ["B", "S", kv_heads * head_size])
        v = helper.make_tensor_value_info("v", elem, ["B", "S", kv_heads * head_size])
        lens = helper.make_tensor_value_info("seq_lens", TensorProto.INT32, ["B"])
        out = helper.make_tensor_value_info("out", elem, ["B", "S", heads * head_size])
    else:
        q = helper.make_tensor_value_info("q", elem, ["T", heads * head_size])
        k = helper.make_tensor_value_info("k", elem, ["T", kv_heads * head_size])
        v = helper.make_tensor_value_info("v", elem, ["T", kv_heads * head_size])
        lens = helper.make_tensor_value_info("cu_seqlens", TensorProto.INT32, ["B1"])
        out = helper.make_tensor_value_info("out", elem, ["T", heads * head_size])
    inputs = [q, k, v] + ([lens] if with_lengths else [])
    node = helper.make_node("EncoderOnlyAttention", [i.name for i in inputs], ["out"], domain="encexport",
                            num_heads=heads, num_kv_heads=kv_heads, head_size=head_size, scale=scale, causal=0,
                            backend=backend, layout=layout, plugin_version="1", plugin_namespace="")
    graph = helper.make_graph([node], "attention", inputs, [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("encexport", 1)])
    model.ir_version = 10
    return model.SerializeToString()


def _session(ort_cuda, model):
    ort, eort = ort_cuda
    so = eort.session_options()
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")  # the node must be placed on CUDA
    return ort.InferenceSession(model, sess_options=so, providers=["CUDAExecutionProvider"])


CASES = [  # dtype, layout, heads, kv_heads, head_size, lens, S, backend
    (torch.float16, "padded", 4, 2, 64, [128, 77, 1, 0], 128, "auto"),
    (torch.float16, "padded", 12, 12, 32, [100, 100], 100, "flash"),
    (torch.float16, "packed", 8, 1, 128, [300, 1, 65, 64], 300, "flash"),
    (torch.float16, "packed", 2, 2, 80, [5, 129], 129, "reference"),
    (torch.float32, "padded", 4, 4, 64, [50, 17], 50, "auto"),
    (torch.float32, "packed", 6, 3, 96, [33, 200, 7], 200, "reference"),
]
TOL = {torch.float16: 1e-2, torch.float32: 1e-4}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{str(c[0])[6:]}-{c[1]}-H{c[2]}kv{c[3]}-d{c[4]}-{c[7]}")
def test_ort_cuda_op_matches_sdpa(case, ort_cuda, cuda, record):
    dtype, layout, heads, kv, d, lens, s, backend = case
    elem = onnx.TensorProto.FLOAT16 if dtype == torch.float16 else onnx.TensorProto.FLOAT
    scale = 1 / math.sqrt(d)
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(len(lens), s, h * d, generator=gen).to(cuda, dtype) for h in (heads, kv, kv))
    ref = sdpa_padded(q, k, v, lens, heads, kv, d, scale)
    sess = _session(ort_cuda, _model(elem, layout, heads, kv, d, scale, backend))
    assert "CUDAExecutionProvider" in sess.get_providers()
    if layout == "padded":
        feeds = {"q": q.cpu().numpy(), "k": k.cpu().numpy(), "v": v.cpu().numpy(),
                 "seq_lens": np.array(lens, dtype=np.int32)}
        out = torch.from_numpy(sess.run(None, feeds)[0]).to(cuda)
    else:
        feeds = {"q": pack(q, lens).cpu().numpy(), "k": pack(k, lens).cpu().numpy(), "v": pack(v, lens).cpu().numpy(),
                 "cu_seqlens": cu_seqlens(lens, "cpu").numpy()}
        out = unpack(torch.from_numpy(sess.run(None, feeds)[0]).to(cuda), lens, s)
    max_abs = float((out.float() - ref).abs().max())
    config = dict(dtype=str(dtype), layout=layout, heads=heads, kv_heads=kv, head_size=d, lens=lens, backend=backend)
    record(dict(test="ort_cuda", id=str(config), **config, max_abs=max_abs, passed=max_abs <= TOL[dtype]))
    assert max_abs <= TOL[dtype], f"{config}: ORT CUDA op max abs error {max_abs:.3g} > {TOL[dtype]}"
    if layout == "padded":
        valid = torch.arange(s, device=cuda)[None, :] < torch.tensor(lens, device=cuda)[:, None]
        assert bool((out[~valid] == 0).all()), f"{config}: padded rows are not zeros"


def test_ort_cuda_flash_unsupported_fails_at_session_creation(ort_cuda, cuda):
    model = _model(onnx.TensorProto.FLOAT, "padded", 2, 2, 64, 0.125, "flash")
    with pytest.raises(Exception) as e:
        _session(ort_cuda, model)
    assert "flash" in str(e.value), str(e.value)


def test_ort_cuda_padded_without_lengths(ort_cuda, cuda):
    d, h, s = 64, 2, 40
    model = _model(onnx.TensorProto.FLOAT16, "padded", h, h, d, 0.125, "auto", with_lengths=False)
    sess = _session(ort_cuda, model)
    q, k, v = (torch.randn(3, s, h * d, device=cuda, dtype=torch.float16) for _ in range(3))
    out = torch.from_numpy(sess.run(None, {"q": q.cpu().numpy(), "k": k.cpu().numpy(), "v": v.cpu().numpy()})[0])
    ref = sdpa_padded(q, k, v, [s] * 3, h, h, d, 0.125).cpu()
    assert float((out.float() - ref).abs().max()) <= 1e-2
