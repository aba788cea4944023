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

from reference import bias_inputs, cu_seqlens, pack, sdpa_padded, unpack, valid_rows  # noqa: E402
from onnx_models import attention_model  # noqa: E402

pytestmark = pytest.mark.gpu


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
def test_ort_cuda_op_matches_sdpa(case, cuda_only_session, cuda, record):
    dtype, layout, heads, kv, d, lens, s, backend = case
    scale = 1 / math.sqrt(d)
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(len(lens), s, h * d, generator=gen).to(cuda, dtype) for h in (heads, kv, kv))
    ref = sdpa_padded(q, k, v, lens, heads, kv, d, scale)
    sess = cuda_only_session(attention_model(num_heads=heads, num_kv_heads=kv, head_size=d, scale=scale,
                                             backend=backend, layout=layout, dtype=str(dtype).replace("torch.", "")))
    assert "CUDAExecutionProvider" in sess.get_providers()
    if layout == "padded":
        feeds = {"query": q.cpu().numpy(), "key": k.cpu().numpy(), "value": v.cpu().numpy(),
                 "lengths": np.array(lens, dtype=np.int32)}
        out = torch.from_numpy(sess.run(None, feeds)[0]).to(cuda)
    else:
        feeds = {"query": pack(q, lens).cpu().numpy(), "key": pack(k, lens).cpu().numpy(),
                 "value": pack(v, lens).cpu().numpy(), "lengths": cu_seqlens(lens, "cpu").numpy()}
        out = unpack(torch.from_numpy(sess.run(None, feeds)[0]).to(cuda), lens, s)
    max_abs = float((out.float() - ref).abs().max())
    config = dict(dtype=str(dtype), layout=layout, heads=heads, kv_heads=kv, head_size=d, lens=lens, backend=backend)
    record(dict(test="ort_cuda", id=str(config), **config, max_abs=max_abs, passed=max_abs <= TOL[dtype]))
    assert max_abs <= TOL[dtype], f"{config}: ORT CUDA op max abs error {max_abs:.3g} > {TOL[dtype]}"
    if layout == "padded":
        valid = valid_rows(lens, s, cuda)
        assert bool((out[~valid] == 0).all()), f"{config}: padded rows are not zeros"


def test_ort_cuda_flash_unsupported_fails_at_session_creation(cuda_only_session, cuda):
    model = attention_model(num_heads=2, head_size=64, scale=0.125, backend="flash", dtype="float32")
    with pytest.raises(Exception) as e:
        cuda_only_session(model)
    assert "flash" in str(e.value), str(e.value)


def test_ort_cuda_padded_without_lengths(cuda_only_session, cuda):
    d, h, s = 64, 2, 40
    model = attention_model(num_heads=h, head_size=d, scale=0.125, dtype="float16", with_lengths=False)
    sess = cuda_only_session(model)
    q, k, v = (torch.randn(3, s, h * d, device=cuda, dtype=torch.float16) for _ in range(3))
    out = torch.from_numpy(sess.run(None, {"query": q.cpu().numpy(), "key": k.cpu().numpy(),
                                           "value": v.cpu().numpy()})[0])
    ref = sdpa_padded(q, k, v, [s] * 3, h, h, d, 0.125).cpu()
    assert float((out.float() - ref).abs().max()) <= 1e-2


# The node's attn_bias input (input 4) on the CUDA EP, in its four broadcast forms.
@pytest.mark.parametrize("backend,form", [("auto", "1HSS"), ("flash", "B1SS"), ("reference", "BHSS"),
                                          ("auto", "11SS")])
def test_ort_cuda_op_with_bias(backend, form, cuda_only_session, cuda, record):
    dtype, h, kv, d, lens, s = torch.float16, 4, 2, 64, [128, 77, 1, 0], 128
    q, k, v, bias = bias_inputs(17, len(lens), s, h, kv, d, dtype, cuda, form)
    ref = sdpa_padded(q, k, v, lens, h, kv, d, 0.125, bias=bias)
    sess = cuda_only_session(attention_model(num_heads=h, num_kv_heads=kv, head_size=d, scale=0.125, backend=backend,
                                             dtype="float16", bias_shape=list(bias.shape)))
    feeds = {"query": q.cpu().numpy(), "key": k.cpu().numpy(), "value": v.cpu().numpy(),
             "lengths": np.array(lens, dtype=np.int32), "attn_bias": bias.cpu().numpy()}
    out = torch.from_numpy(sess.run(None, feeds)[0]).to(cuda)
    diff = (out.float() - ref).abs()
    max_abs, within = float(diff.max()), bool((diff <= 1e-2 + 1e-2 * ref.abs()).all())
    record(dict(test="ort_cuda_bias", id=f"{backend}-{form}", backend=backend, form=form, max_abs=max_abs,
                passed=within))
    assert within, f"{backend} {form}: ORT CUDA op max abs error {max_abs:.3g}"
    assert bool((out[~valid_rows(lens, s, cuda)] == 0).all())
