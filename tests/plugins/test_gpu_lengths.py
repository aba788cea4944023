"""Out-of-range device lengths on the CUDA path never give a plausible answer (docs/onnx-contract.md).

Default mode: the kernels cannot see device lengths from the host without a sync, so every CUDA family writes NaN
over the rows those lengths describe: in the padded layout all S rows of a sequence whose seq_lens[b] is outside
[0, S] (the other sequences are computed as usual); in the packed layout every row, when cu_seqlens is not the
prefix sums of lengths ending at T. Checked mode (ENCEXPORT_CHECKED_LENGTHS=1, read once per process, hence the
subprocesses): the call fails with the CPU op's message naming the bad entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from reference import cu_seqlens, pack, sdpa_padded, unpack  # noqa: E402
from tolerance import judge  # noqa: E402

pytestmark = pytest.mark.gpu

PROBE = Path(__file__).resolve().parents[1] / "support" / "checked_lengths_probe.py"
H, D, S = 2, 64, 130  # 130: a partial last tile for every flash tiling


def _inputs(b, dtype, device, seed=3):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(b, S, H * D, generator=gen).to(device, dtype) for _ in range(3)]


@pytest.mark.parametrize("backend,dtype", [("flash", torch.float16), ("flash", torch.bfloat16),
                                           ("reference", torch.float16), ("reference", torch.float32),
                                           ("cudnn", torch.bfloat16)])
def test_padded_out_of_range_sequences_are_nan_rows(backend, dtype, testapi, cuda, request):
    if backend == "cudnn":
        request.getfixturevalue("cudnn_available")
    lens = [S + 1, 40, -5, 0, 2**31 - 1, S]
    bad = [0, 2, 4]
    q, k, v = _inputs(len(lens), dtype, cuda)
    out, used = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=cuda), num_heads=H,
                                  num_kv_heads=H, head_size=D, scale=0.125, backend=backend,
                                  out=torch.zeros_like(q))
    torch.cuda.synchronize()
    assert used == backend
    for b in bad:
        assert bool(out[b].isnan().all()), f"{backend}: sequence {b} (seq_lens {lens[b]}) has rows that are not NaN"
    good = [b for b in range(len(lens)) if b not in bad]
    good_lens = [lens[b] for b in good]
    ref = sdpa_padded(q[good], k[good], v[good], good_lens, H, H, D, 0.125)
    verdict = judge(out[good], ref, good_lens, dtype)
    assert verdict.passed, f"{backend}: the sequences with valid lengths changed: {verdict.describe()}"


BAD_CU = {"first not 0": [3, 40, 201], "last below T": [0, 40, 200], "last above T": [0, 40, 202],
          "decreasing": [0, 150, 40, 201], "negative": [0, -1, 201]}


@pytest.mark.parametrize("backend", ["flash", "reference"])
@pytest.mark.parametrize("what", BAD_CU)
def test_packed_bad_cu_seqlens_make_every_row_nan(what, backend, testapi, cuda):
    t = 201
    gen = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(t, H * D, generator=gen).to(cuda, torch.float16) for _ in range(3))
    out, _ = testapi.attention(q, k, v, torch.tensor(BAD_CU[what], dtype=torch.int32, device=cuda), num_heads=H,
                               num_kv_heads=H, head_size=D, scale=0.125, layout="packed", backend=backend,
                               out=torch.zeros_like(q))
    torch.cuda.synchronize()
    assert bool(out.isnan().all()), f"{backend}, cu_seqlens {what}: {int((~out.isnan()).any(-1).sum())} rows not NaN"


@pytest.mark.parametrize("backend", ["flash", "reference"])
def test_packed_valid_cu_seqlens_have_no_nan(backend, testapi, cuda):
    lens = [1, 64, 0, 65, 71]
    q, k, v = _inputs(len(lens), torch.float16, cuda, seed=5)
    ref = sdpa_padded(q, k, v, lens, H, H, D, 0.125)
    out, _ = testapi.attention(pack(q, lens), pack(k, lens), pack(v, lens), cu_seqlens(lens, cuda), num_heads=H,
                               num_kv_heads=H, head_size=D, scale=0.125, layout="packed", backend=backend)
    torch.cuda.synchronize()
    verdict = judge(unpack(out, lens, S), ref, lens, torch.float16)
    assert verdict.passed, verdict.describe()


def test_ort_cuda_op_writes_nan_rows(cuda_only_session, cuda):
    import numpy as np

    from onnx_models import attention_model

    lens = [S + 7, 33]
    q, k, v = _inputs(len(lens), torch.float16, cuda, seed=6)
    sess = cuda_only_session(attention_model(num_heads=H, head_size=D, scale=0.125, dtype="float16"))
    out = torch.from_numpy(sess.run(None, {"query": q.cpu().numpy(), "key": k.cpu().numpy(), "value": v.cpu().numpy(),
                                           "lengths": np.array(lens, dtype=np.int32)})[0]).to(cuda)
    assert bool(out[0].isnan().all()), "ORT CUDA op: a sequence longer than S is not NaN"
    verdict = judge(out[1:], sdpa_padded(q[1:], k[1:], v[1:], lens[1:], H, H, D, 0.125), lens[1:], torch.float16)
    assert verdict.passed, verdict.describe()


def _probe(runner: str, layout: str, lengths: list[int], checked: bool) -> dict:
    env = dict(os.environ)
    env.pop("ENCEXPORT_CHECKED_LENGTHS", None)
    if checked:
        env["ENCEXPORT_CHECKED_LENGTHS"] = "1"
    done = subprocess.run([sys.executable, str(PROBE), runner, layout, json.dumps(lengths)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("runner", ["testapi", "ort"])
@pytest.mark.parametrize("layout,lengths,needles", [
    ("padded", [48, 9, 49], ["seq_lens[2] = 49", "outside [0, 48]"]),
    ("padded", [-1, 9], ["seq_lens[0] = -1"]),
    ("packed", [0, 30, 20, 48], ["cu_seqlens[2] = 20", "non-decreasing"]),
    ("packed", [0, 30, 47], ["cu_seqlens[-1] = 47", "T = 48"]),
])
def test_checked_mode_names_the_bad_length(runner, layout, lengths, needles, cuda, request):
    if runner == "ort":
        request.getfixturevalue("ort_cuda")
    else:
        request.getfixturevalue("testapi")
    checked = _probe(runner, layout, lengths, checked=True)
    assert checked["error"] is not None, f"{runner}: ENCEXPORT_CHECKED_LENGTHS=1 accepted {layout} lengths {lengths}"
    for needle in needles + ["ENCEXPORT_CHECKED_LENGTHS=1"]:
        assert needle in checked["error"], checked["error"]
    unchecked = _probe(runner, layout, lengths, checked=False)
    assert unchecked["error"] is None and unchecked["nan_rows"] > 0, unchecked


@pytest.mark.parametrize("runner", ["testapi", "ort"])
@pytest.mark.parametrize("layout,lengths", [("padded", [48, 0, 17]), ("packed", [0, 30, 30, 48])])
def test_checked_mode_runs_valid_lengths(runner, layout, lengths, cuda, request):
    request.getfixturevalue("ort_cuda" if runner == "ort" else "testapi")
    result = _probe(runner, layout, lengths, checked=True)
    assert result == {"error": None, "nan_rows": 0}, result
