"""CUDA kernels (through libencexport_testapi.so) against PyTorch SDPA in fp32 math mode.

The grid of cases is tests/support/kernel_grid.py's; each case is judged by tests/support/tolerance.py: every valid
element within TOLERANCE[dtype] * (|ref| + rms of its sequence's reference), where the tolerance is 2.5x the error
observed (fp16 2.5e-3, bf16 2e-2, fp32 1.5e-5; the derivation is in that module), and padded query rows (i >= len)
exact zeros. tests/plugins/test_gpu_faults.py checks that this judgement fails on a kernel broken on purpose.
Lengths out of range give NaN rows (padded: that sequence's; packed: every row), or an error with
ENCEXPORT_CHECKED_LENGTHS=1 (docs/onnx-contract.md).
"""

from __future__ import annotations

import math
import zlib

import pytest

torch = pytest.importorskip("torch")

from kernel_grid import GRID, case_id, dtype_name, expected_family, run_case  # noqa: E402
from reference import BIAS_FORMS, bias_inputs, sdpa_padded, valid_rows  # noqa: E402
from tolerance import judge  # noqa: E402

from encexport import capabilities  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("case", GRID, ids=[case_id(c) for c in GRID])
def test_kernel_matches_sdpa(case, testapi, cuda, record, request):
    if case["backend"] == "cudnn":
        request.getfixturevalue("cudnn_available")
    out, ref, used = run_case(case, testapi, cuda)
    config = {k: (str(v) if k == "dtype" else v) for k, v in case.items() if k != "lens"}
    config.update(batch=len(case["lens"]), lens_min=min(case["lens"]), lens_max=max(case["lens"]), used=used)
    verdict = judge(out, ref, case["lens"], case["dtype"])
    max_rel = verdict.max_abs / max(float(ref.abs().max()), 1e-6)
    record(dict(test="kernel", id=case_id(case), **config, max_abs=verdict.max_abs, max_rel=max_rel,
                worst_error=verdict.worst_error, worst_bound=verdict.worst_bound, passed=verdict.passed))
    assert used == expected_family(case, cuda), f"{config}: dispatcher ran {used}"
    assert verdict.padded_rows_zero, f"{config}: padded query rows are not exact zeros"
    assert verdict.within, f"{config}: {verdict.describe()}"


# Both flash tilings (64- and 128-row query tiles) for every head size that has two: the grid above runs
# the one the dispatcher picks for its mean length; here the same cases run with each forced.
TILING_CASES = [(c, rows) for c in GRID if c["backend"] == "flash" and c["head_size"] <= 128 for rows in (1, 2)]


@pytest.mark.parametrize("case,rows", TILING_CASES, ids=[f"m{64 * r}-{case_id(c)}" for c, r in TILING_CASES])
def test_each_flash_tiling_matches_sdpa(case, rows, testapi, cuda):
    with testapi.flash_tiling(rows):
        out, ref, used = run_case(case, testapi, cuda)
    verdict = judge(out, ref, case["lens"], case["dtype"])
    assert used == "flash"
    assert verdict.padded_rows_zero, "padded query rows are not exact zeros"
    assert verdict.within, verdict.describe()


@pytest.mark.parametrize("dtype,head_size", [
    (torch.float16, 64), (torch.bfloat16, 256), (torch.float16, 100), (torch.float32, 64)])
def test_auto_runs_what_the_query_says(dtype, head_size, testapi, cuda):
    q = torch.randn(2, 8, 2 * head_size, device=cuda, dtype=dtype)
    expect, why = capabilities.auto_backend(dtype_name(dtype), head_size, seq_len=8, num_heads=2,
                                            device=cuda.index or 0)
    _, used = testapi.attention(q, q.clone(), q.clone(), None, num_heads=2, num_kv_heads=2, head_size=head_size,
                                scale=0.1, backend="auto")
    assert used == expect, f"auto with {dtype} d={head_size} ran {used}; the query said {why}"


@pytest.mark.parametrize("dtype,head_size,needle", [(torch.float32, 64, "float16"), (torch.float16, 100, "64")])
def test_explicit_flash_unsupported_names_what_is(dtype, head_size, needle, testapi, cuda):
    q = torch.randn(1, 4, head_size, device=cuda, dtype=dtype)
    answer = capabilities.supports("flash", dtype_name(dtype), head_size, device=cuda.index or 0)
    assert not answer
    with pytest.raises(RuntimeError) as e:
        testapi.attention(q, q, q, None, num_heads=1, num_kv_heads=1, head_size=head_size, scale=1.0, backend="flash")
    assert str(e.value) == answer.reason and needle in str(e.value), str(e.value)


@pytest.mark.parametrize("backend", ["flash", "reference"])
def test_empty_inputs_launch_nothing(backend, testapi, cuda):
    q = torch.empty(0, 64, device=cuda, dtype=torch.float16)
    cu = torch.zeros(4, dtype=torch.int32, device=cuda)
    out, _ = testapi.attention(q, q, q, cu, num_heads=1, num_kv_heads=1, head_size=64, scale=1.0, layout="packed",
                               backend=backend)
    torch.cuda.synchronize()
    assert out.shape == (0, 64)


def test_unaligned_rows_fall_back_to_reference(testapi, cuda):
    base = torch.randn(1 + 3 * 64, device=cuda, dtype=torch.float16)
    q = base[1:].view(1, 3, 64)  # 2-byte offset: no 16-byte cp.async
    _, used = testapi.attention(q, q, q, None, num_heads=1, num_kv_heads=1, head_size=64, scale=1.0, backend="auto")
    assert used == "reference"


@pytest.mark.parametrize("backend", ["flash", "reference"])
def test_malformed_cu_seqlens_never_fault(backend, testapi, cuda):
    # Host validation would reject these; the kernels must still stay inside the tensors, and write every row NaN.
    t = 201
    q = torch.randn(t, 2 * 64, device=cuda, dtype=torch.float16)
    kv = torch.randn(t, 64, device=cuda, dtype=torch.float16)
    for cu in ([0, 150, 40, 500, -7], [5, 9999, 3], [0, -1, 2**31 - 1]):
        cu_t = torch.tensor(cu, dtype=torch.int32, device=cuda)
        out, _ = testapi.attention(q, kv, kv, cu_t, num_heads=2, num_kv_heads=1, head_size=64, scale=0.125,
                                   layout="packed", backend=backend)
        torch.cuda.synchronize()  # a fault would raise here
        assert bool(out.isnan().all()), f"{backend} cu_seqlens={cu}: rows that are not NaN"


def test_auto_picks_cudnn_for_long_padded_batches(testapi, cuda, cudnn_available):
    q = torch.randn(2, 512, 4 * 64, device=cuda, dtype=torch.float16)
    lens = torch.tensor([512, 300], dtype=torch.int32, device=cuda)
    _, used = testapi.attention(q, q.clone(), q.clone(), lens, num_heads=4, num_kv_heads=4, head_size=64, scale=0.125)
    expect, why = capabilities.auto_backend("float16", 64, seq_len=512, num_heads=4, device=cuda.index or 0)
    assert used == expect, f"ran {used}; the query said {why}"
    if torch.cuda.get_device_capability(cuda)[0] >= 9:
        assert used == "cudnn", why  # the rule this test is about: long padded batches on Hopper go to cuDNN


def test_cudnn_refuses_packed_layout_with_the_fix(testapi, cuda):
    q = torch.randn(10, 64, device=cuda, dtype=torch.float16)
    cu = torch.tensor([0, 4, 10], dtype=torch.int32, device=cuda)
    with pytest.raises(RuntimeError) as e:
        testapi.attention(q, q, q, cu, num_heads=1, num_kv_heads=1, head_size=64, scale=1.0, layout="packed",
                          backend="cudnn")
    assert "padded" in str(e.value) and "'auto'" in str(e.value), str(e.value)


# ---- the additive attention bias (attn_bias, [B|1, H|1, S, S]) ----
# reference and flash, fp16 and bf16, head sizes 32/64/128, the four broadcast forms, ragged lengths with an
# empty sequence and lengths off the tile boundaries; both flash tilings; a bias of -inf on whole key tiles; an
# expanded (stride 0) bias view; `auto` and `cudnn` with a bias. The oracle is SDPA with the bias as its float
# mask (keys past each length masked after it).
BIAS_CASES = [(backend, dtype, d, form)
              for backend in ("reference", "flash")
              for dtype in (torch.float16, torch.bfloat16)
              for d in (32, 64, 128)
              for form in BIAS_FORMS]


def _bias_case_id(c) -> str:
    backend, dtype, d, form = c
    return f"{backend}-{str(dtype)[6:]}-d{d}-{form}"


def _attend_with_bias(testapi, q, k, v, lens, heads, kv_heads, head_size, scale, bias, **kw):
    """A padded call with device seq_lens and an attn_bias, finished before the caller reads the output."""
    out, used = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=q.device), num_heads=heads,
                                  num_kv_heads=kv_heads, head_size=head_size, scale=scale, bias=bias, **kw)
    torch.cuda.synchronize()
    return out, used


def _check_bias(out, ref, lens, s, dtype, device, what):
    verdict = judge(out, ref, lens, dtype)
    assert verdict.padded_rows_zero, f"{what}: padded query rows are not exact zeros"
    assert verdict.within, f"{what}: {verdict.describe()}"


@pytest.mark.parametrize("case", BIAS_CASES, ids=[_bias_case_id(c) for c in BIAS_CASES])
def test_bias_matches_sdpa(case, testapi, cuda, record):
    backend, dtype, d, form = case
    b, s, h, kv = 4, 200, 4, 2  # 200: a partial last tile for every flash tiling
    lens = [200, 131, 0, 65]
    scale = 1 / math.sqrt(d)
    q, k, v, bias = bias_inputs(zlib.crc32(_bias_case_id(case).encode()), b, s, h, kv, d, dtype, cuda, form)
    ref = sdpa_padded(q, k, v, lens, h, kv, d, scale, bias=bias)
    out, used = _attend_with_bias(testapi, q, k, v, lens, h, kv, d, scale, bias, backend=backend,
                                  out=torch.full_like(q, float("nan")))
    record(dict(test="bias", id=_bias_case_id(case), backend=backend, dtype=str(dtype), head_size=d, form=form, used=used,
                max_abs=float((out.float() - ref).abs()[valid_rows(lens, s, cuda)].max())))
    assert used == backend
    _check_bias(out, ref, lens, s, dtype, cuda, _bias_case_id(case))
    # The bias is not ignored: without it the result differs well beyond the tolerance.
    plain = sdpa_padded(q, k, v, lens, h, kv, d, scale)
    assert float((plain - ref).abs().max()) > 0.1


@pytest.mark.parametrize("rows", [1, 2])
@pytest.mark.parametrize("form", ["BHSS", "11SS"])
def test_bias_each_flash_tiling(rows, form, testapi, cuda):
    b, s, h, d, dtype = 3, 333, 2, 64, torch.float16
    lens = [333, 128, 1]
    q, k, v, bias = bias_inputs(rows, b, s, h, h, d, dtype, cuda, form)
    ref = sdpa_padded(q, k, v, lens, h, h, d, 0.125, bias=bias)
    with testapi.flash_tiling(rows):
        out, used = _attend_with_bias(testapi, q, k, v, lens, h, h, d, 0.125, bias, backend="flash")
    assert used == "flash"
    _check_bias(out, ref, lens, s, dtype, cuda, f"m{64 * rows}-{form}")


@pytest.mark.parametrize("backend", ["reference", "flash"])
def test_bias_of_minus_infinity_on_whole_key_tiles(backend, testapi, cuda):
    # A bias that masks the first 100 keys (more than a key tile) and, for one row, every key but the last:
    # the online softmax must not turn a tile whose scores are all -inf into NaN.
    b, s, h, d, dtype = 2, 160, 2, 64, torch.bfloat16
    lens = [160, 150]
    q, k, v, bias = bias_inputs(11, b, s, h, h, d, dtype, cuda, "BHSS")
    bias[:, :, :, :100] = float("-inf")
    bias[:, :, 7, :149] = float("-inf")
    ref = sdpa_padded(q, k, v, lens, h, h, d, 0.125, bias=bias)
    out, _ = _attend_with_bias(testapi, q, k, v, lens, h, h, d, 0.125, bias, backend=backend)
    _check_bias(out, ref, lens, s, dtype, cuda, f"{backend} -inf tiles")


@pytest.mark.parametrize("backend", ["reference", "flash"])
def test_bias_outside_the_valid_block_is_never_read(backend, testapi, cuda):
    b, s, h, d, dtype = 2, 96, 2, 32, torch.float16
    lens = [96, 40]
    q, k, v, bias = bias_inputs(5, b, s, h, h, d, dtype, cuda, "BHSS")
    ref = sdpa_padded(q, k, v, lens, h, h, d, 0.2, bias=bias)
    poisoned = bias.clone()
    poisoned[1, :, 40:, :] = float("nan")
    poisoned[1, :, :, 40:] = float("nan")
    out, _ = _attend_with_bias(testapi, q, k, v, lens, h, h, d, 0.2, poisoned, backend=backend)
    _check_bias(out, ref, lens, s, dtype, cuda, f"{backend} poisoned padding")


@pytest.mark.parametrize("backend", ["reference", "flash"])
def test_expanded_bias_view_is_read_through_its_strides(backend, testapi, cuda):
    # A [1, H, S, S] bias expanded to [B, H, S, S] (batch stride 0) and a [S, S] one expanded over batch and heads.
    b, s, h, d, dtype = 3, 70, 4, 64, torch.float16
    lens = [70, 33, 70]
    q, k, v, bias = bias_inputs(9, b, s, h, h, d, dtype, cuda, "1HSS")
    for view in (bias.expand(b, h, s, s), bias[:, :1].expand(b, h, s, s)):
        ref = sdpa_padded(q, k, v, lens, h, h, d, 0.125, bias=view)
        out, _ = _attend_with_bias(testapi, q, k, v, lens, h, h, d, 0.125, view, backend=backend)
        _check_bias(out, ref, lens, s, dtype, cuda, f"{backend} expanded view")


def test_auto_with_bias_passes_over_cudnn(testapi, cuda):
    # S = 512 is where auto prefers cudnn on Hopper; with a bias it must run flash, and say why.
    b, s, h, d, dtype = 2, 512, 4, 64, torch.float16
    lens = [512, 300]
    q, k, v, bias = bias_inputs(3, b, s, h, h, d, dtype, cuda, "1HSS")
    expect, why = capabilities.auto_backend("float16", d, seq_len=s, num_heads=h, bias=True, device=cuda.index or 0)
    assert expect == "flash" and "cudnn: " in why, why
    out, used = _attend_with_bias(testapi, q, k, v, lens, h, h, d, 0.125, bias)
    assert used == "flash"
    _check_bias(out, sdpa_padded(q, k, v, lens, h, h, d, 0.125, bias=bias), lens, s, dtype, cuda, "auto")


def test_cudnn_refuses_a_bias_with_the_fix(testapi, cuda):
    q = torch.randn(1, 16, 64, device=cuda, dtype=torch.float16)
    bias = torch.zeros(1, 1, 16, 16, device=cuda, dtype=torch.float16)
    with pytest.raises(RuntimeError) as e:
        testapi.attention(q, q, q, None, num_heads=1, num_kv_heads=1, head_size=64, scale=1.0, backend="cudnn",
                          bias=bias)
    assert "attn_bias" in str(e.value) and "'auto'" in str(e.value), str(e.value)
