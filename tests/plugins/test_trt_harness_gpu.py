"""The TensorRT plugin's enqueue on a GPU, driven by encexport_trt_harness (gpu mode) through the full
IPluginV3 build -> serialize -> deserialize -> attach -> onShapeChange -> enqueue sequence, compared with
PyTorch SDPA (fp32 math, key-padding mask). Run by scripts/gpu_check.sh (pytest -m gpu tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from encexport.native import library_dir

from reference import cu_seqlens, pack, sdpa_padded, unpack

LIB_DIR = library_dir()  # $ENCEXPORT_LIB_DIR, else the package's _lib folder, like every other library user
HARNESS = LIB_DIR / "encexport_trt_harness"
LIBRARY = LIB_DIR / "libencexport_trt.so"

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def harness():
    if not (HARNESS.exists() and LIBRARY.exists()):
        pytest.skip(f"{HARNESS.name} / {LIBRARY.name} not built (scripts/build_plugins.sh with the TensorRT headers)")
    return HARNESS


def save(path: Path, t: torch.Tensor) -> str:
    t = t.detach().cpu().contiguous()
    # numpy has no bfloat16: the harness reads the raw 16-bit words ('<u2') and is told --dtype bf16.
    np.save(path, t.view(torch.int16).numpy().view(np.uint16) if t.dtype == torch.bfloat16 else t.numpy())
    return str(path)


def load(path: Path, dtype: torch.dtype) -> torch.Tensor:
    a = np.load(path)
    return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16) if dtype == torch.bfloat16 else torch.from_numpy(a)


DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
CASES = [  # (layout, H, Hkv, D, lens)
    ("padded", 12, 12, 64, [128, 77, 1, 0]),
    ("padded", 8, 2, 128, [200, 64]),
    ("padded", 16, 1, 32, [33, 17, 5]),
    ("packed", 12, 12, 64, [128, 77, 1, 0]),
    ("packed", 8, 2, 128, [200, 64, 9]),
    ("packed", 4, 4, 256, [70, 1]),
]


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("layout,H,Hkv,D,lens", CASES)
def test_trt_plugin_enqueue_matches_sdpa(harness, tmp_path, record, dtype, layout, H, Hkv, D, lens):
    torch_dtype = DTYPES[dtype]
    g = torch.Generator().manual_seed(H * 1000 + D + len(lens))
    B, S = len(lens), max(lens)
    q, k, v = (torch.randn(B, S, n * D, generator=g).to(torch_dtype) for n in (H, Hkv, Hkv))
    scale = D ** -0.5
    ref = sdpa_padded(q, k, v, lens, H, Hkv, D, scale)  # fp32 [B,S,H*D], padding rows zero

    if layout == "packed":
        tensors = [pack(t, lens) for t in (q, k, v)] + [cu_seqlens(lens, "cpu")]
    else:
        tensors = [q, k, v, torch.tensor(lens, dtype=torch.int32)]
    paths = [save(tmp_path / f"{n}.npy", t) for n, t in zip(("q", "k", "v", "lengths"), tensors)]
    out_path = tmp_path / "out.npy"
    cmd = [str(harness), "gpu", "--lib", str(LIBRARY), "--layout", layout, "--num-heads", str(H), "--num-kv-heads",
           str(Hkv), "--head-size", str(D), "--scale", repr(scale), "--dtype", dtype, "--q", paths[0], "--k", paths[1],
           "--v", paths[2], "--lengths", paths[3], "--out", str(out_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    config = dict(layout=layout, H=H, Hkv=Hkv, D=D, lens=lens, dtype=dtype, path="tensorrt-plugin")
    assert proc.returncode == 0, f"{config}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"

    out = load(out_path, torch_dtype).float()
    if layout == "packed":
        out = unpack(out, lens, S)
    err = (out - ref).abs().max().item()
    record({**config, "max_abs_err": err})
    assert np.isfinite(err) and err <= 1e-2, f"{config}: max abs error {err}"


# The enqueue's host cost on the benchmark's MiniLM and BERT-base S512 shapes (padded, uneven lengths): recorded
# for docs/performance.md next to ORT's per-call costs (a measurement, not asserted against a time).
HOST_CASES = [("MiniLM", 64, 12, 32, 128), ("BERT-base S512", 32, 12, 64, 512)]


@pytest.mark.parametrize("name,B,H,D,S", HOST_CASES, ids=[c[0] for c in HOST_CASES])
def test_trt_plugin_enqueue_host_cost(harness, tmp_path, record, name, B, H, D, S):
    g = torch.Generator().manual_seed(B + S)
    tensors = [torch.randn(B, S, H * D, generator=g).half() for _ in range(3)]
    tensors.append(torch.randint(S // 2, S + 1, (B,), generator=g, dtype=torch.int32))
    paths = [save(tmp_path / f"{n}.npy", t) for n, t in zip(("q", "k", "v", "lengths"), tensors)]
    cmd = [str(harness), "gpu", "--lib", str(LIBRARY), "--layout", "padded", "--num-heads", str(H), "--head-size",
           str(D), "--dtype", "fp16", "--q", paths[0], "--k", paths[1], "--v", paths[2], "--lengths", paths[3],
           "--out", str(tmp_path / "out.npy"), "--host-timing", "200"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("enqueue host us:")), None)
    assert line is not None, proc.stdout[-2000:]
    host_us = float(line.split(":")[1])
    record({"test": "trt_enqueue_host_cost", "shape": name, "enqueue_host_us": host_us})
    assert 0.0 < host_us < 1e5


# The attn_bias input (5 inputs: q, k, v, seq_lens, bias) in its four broadcast forms.
BIAS_CASES = [  # (H, Hkv, D, lens, bias batch dim is B, bias head dim is H, backend)
    (12, 12, 64, [128, 77, 1, 0], True, True, "auto"),
    (8, 2, 128, [200, 64], False, True, "flash"),
    (16, 1, 32, [33, 17, 5], True, False, "reference"),
    (4, 4, 64, [70, 70], False, False, "auto"),
]


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("H,Hkv,D,lens,per_batch,per_head,backend", BIAS_CASES)
def test_trt_plugin_enqueue_with_bias_matches_sdpa(harness, tmp_path, record, dtype, H, Hkv, D, lens, per_batch,
                                                   per_head, backend):
    torch_dtype = DTYPES[dtype]
    g = torch.Generator().manual_seed(H * 1000 + D + len(lens) + 7)
    B, S = len(lens), max(lens)
    q, k, v = (torch.randn(B, S, n * D, generator=g).to(torch_dtype) for n in (H, Hkv, Hkv))
    bias = (2 * torch.randn(B if per_batch else 1, H if per_head else 1, S, S, generator=g)).to(torch_dtype)
    scale = D ** -0.5
    ref = sdpa_padded(q, k, v, lens, H, Hkv, D, scale, bias=bias)
    tensors = [q, k, v, torch.tensor(lens, dtype=torch.int32), bias]
    paths = [save(tmp_path / f"{n}.npy", t) for n, t in zip(("q", "k", "v", "lengths", "bias"), tensors)]
    out_path = tmp_path / "out.npy"
    cmd = [str(harness), "gpu", "--lib", str(LIBRARY), "--layout", "padded", "--num-heads", str(H), "--num-kv-heads",
           str(Hkv), "--head-size", str(D), "--scale", repr(scale), "--dtype", dtype, "--backend", backend, "--q",
           paths[0], "--k", paths[1], "--v", paths[2], "--lengths", paths[3], "--bias", paths[4], "--out",
           str(out_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    config = dict(H=H, Hkv=Hkv, D=D, lens=lens, dtype=dtype, bias=list(bias.shape), backend=backend,
                  path="tensorrt-plugin-bias")
    assert proc.returncode == 0, f"{config}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    out = load(out_path, torch_dtype).float()
    err = (out - ref).abs().max().item()
    record({**config, "max_abs_err": err})
    assert np.isfinite(err) and err <= 4e-2, f"{config}: max abs error {err}"
