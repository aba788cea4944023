"""The packed q|k|v form on the ORT CUDA EP: key and value empty, the kernels read k and v inside query's rows
(row stride (H + 2*Hkv)*D, no copy), for every kernel family and both layouts, against SDPA fp32 math.

Needs onnxruntime-gpu (CUDAExecutionProvider); skipped with the reason otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from reference import cu_seqlens, pack, sdpa_padded, unpack  # noqa: E402
from onnx_models import attention_model  # noqa: E402

pytestmark = pytest.mark.gpu


CASES = [  # layout, heads, kv_heads, head_size, lens, S, backend
    ("padded", 12, 12, 32, [128, 77, 1, 0], 128, "auto"),   # MiniLM's heads
    ("padded", 12, 12, 64, [512, 300], 512, "auto"),        # BERT-base's heads, long enough for cuDNN under auto
    ("padded", 8, 2, 64, [100, 3], 100, "flash"),
    ("packed", 12, 12, 64, [300, 1, 65, 64], 300, "flash"),
    ("packed", 8, 1, 128, [33, 200, 7], 200, "auto"),
    ("packed", 4, 2, 80, [5, 129], 129, "reference"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-H{c[1]}kv{c[2]}-d{c[3]}-{c[6]}")
def test_ort_cuda_packed_qkv_matches_sdpa(case, cuda_only_session, cuda, record):
    layout, heads, kv, d, lens, s, backend = case
    scale = 1 / math.sqrt(d)
    gen = torch.Generator().manual_seed(11)
    q, k, v = (torch.randn(len(lens), s, h * d, generator=gen).to(cuda, torch.float16) for h in (heads, kv, kv))
    ref = sdpa_padded(q, k, v, lens, heads, kv, d, scale)
    sess = cuda_only_session(attention_model(num_heads=heads, num_kv_heads=kv, head_size=d, scale=scale,
                                             backend=backend, layout=layout, dtype="float16", packed_qkv=True))
    rows = torch.cat([q, k, v], dim=-1)
    if layout == "padded":
        feeds = {"query": rows.cpu().numpy(), "lengths": np.array(lens, dtype=np.int32)}
        out = torch.from_numpy(sess.run(None, feeds)[0]).to(cuda)
    else:
        feeds = {"query": pack(rows, lens).cpu().numpy(), "lengths": cu_seqlens(lens, "cpu").numpy()}
        out = unpack(torch.from_numpy(sess.run(None, feeds)[0]).to(cuda), lens, s)
    max_abs = float((out.float() - ref).abs().max())
    config = dict(layout=layout, heads=heads, kv_heads=kv, head_size=d, lens=lens, backend=backend)
    record(dict(test="ort_cuda_packed_qkv", id=str(config), **config, max_abs=max_abs, passed=max_abs <= 1e-2))
    assert max_abs <= 1e-2, f"{config}: packed q|k|v max abs error {max_abs:.3g} > 1e-2"
