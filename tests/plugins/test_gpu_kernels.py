"""CUDA kernels (through libencexport_testapi.so) against PyTorch SDPA in fp32 math mode.

A seeded randomized grid: batch 1-64, lengths 1..4096 (odd, ragged, tile-boundary and zero lengths), every
flash head size, GQA ratios 1/2/4/8, fp16/bf16 (+fp32 and odd head sizes for the reference kernel),
padded and packed layouts, default / custom / negative scales. Inputs are unit-scale normal.

Tolerances (elementwise |out - ref| <= atol + rtol*|ref|, ref = fp32 math on the same rounded inputs):
  fp16: atol 1e-2, rtol 1e-2   (P is rounded to fp16 before P·V; output rounding is 5e-4 relative)
  bf16: atol 4e-2, rtol 2e-2   (bf16 keeps 8 mantissa bits: 4e-3 relative per rounding)
  fp32 (reference kernel): atol 1e-4, rtol 1e-4
Padded query rows (i >= len) must be exact zeros.
"""

from __future__ import annotations

import math
import random
import zlib

import pytest

torch = pytest.importorskip("torch")

from reference import BIAS_FORMS, bias_inputs, cu_seqlens, pack, sdpa_padded, unpack, valid_rows  # noqa: E402

from encexport import capabilities, contract  # noqa: E402

pytestmark = pytest.mark.gpu


def _compiled_flash_head_sizes() -> list[int]:
    """The head sizes the library has a flash kernel for (generate.py's list, asked of the library), or none
    where the library is not built (the tests then skip for want of it)."""
    if not capabilities.available():
        return []
    return [d for d in range(1, contract.MAX_HEAD_SIZE + 1) if capabilities.supports("flash", "float16", d)]


FLASH_HEAD_SIZES = _compiled_flash_head_sizes()
# The hopper family's compiled head sizes (ENCEXPORT_HOPPER_HEAD_SIZES may build a subset; none without sm_90).
HOPPER_HEAD_SIZES = [d for d in range(16, contract.MAX_HEAD_SIZE + 1, 16)
                     if capabilities.supports("hopper", "float16", d)]
# Head sizes off the 16-grid: the reference family runs them whatever flash compiles.
OTHER_HEAD_SIZES = [1, 8, 24, 40, 72, 100, 200, 255]
CUDNN_HEAD_SIZES = [32, 64, 96, 128, 256]
TOLERANCE = {torch.float16: (1e-2, 1e-2), torch.bfloat16: (4e-2, 2e-2), torch.float32: (1e-4, 1e-4)}
SEQ_CHOICES = [1, 2, 7, 16, 63, 64, 65, 100, 127, 128, 129, 200, 257, 384, 512, 777, 1024, 2048, 4096]
BATCH_CHOICES = [1, 2, 3, 5, 8, 16, 32, 64]
# Cap on B*H*S*S so the fp32 math oracle (which materialises the score matrix) stays under ~1 GB.
ORACLE_SCORE_BUDGET = 1 << 28


def _make_case(rng: random.Random, head_size: int, dtype, layout: str, backend: str, long: bool = False) -> dict:
    g = rng.choice([1, 2, 4, 8])
    kv = rng.choice([1, 2]) if g >= 4 else rng.choice([1, 2, 3])
    heads = kv * g
    s = rng.choice(SEQ_CHOICES[-4:] if long else SEQ_CHOICES)
    batches = [b for b in BATCH_CHOICES if b * heads * s * s <= ORACLE_SCORE_BUDGET] or [1]
    b = rng.choice(batches)
    # Ragged lengths; the first sequence always fills S, padded batches sometimes hold an empty sequence.
    lens = [s] + [rng.randint(0 if layout == "padded" else 1, s) for _ in range(b - 1)]
    rng.shuffle(lens)
    scale = rng.choice([None, None, 0.3, -0.125])
    return dict(head_size=head_size, dtype=dtype, layout=layout, backend=backend, heads=heads, kv_heads=kv, seq=s,
                lens=lens, scale=(1 / math.sqrt(head_size)) if scale is None else scale)


def _grid() -> list[dict]:
    rng = random.Random(20261125)
    cases = []
    for d in FLASH_HEAD_SIZES:
        for dtype in (torch.float16, torch.bfloat16):
            for layout in ("padded", "packed"):
                cases.append(_make_case(rng, d, dtype, layout, "flash"))
    for d in (32, 64, 128, 256):  # long sequences (2048/4096) for the common head sizes
        for layout in ("padded", "packed"):
            cases.append(_make_case(rng, d, rng.choice([torch.float16, torch.bfloat16]), layout, "flash", long=True))
    for d in [32, 64, 80, 96, 128, 256] + OTHER_HEAD_SIZES:
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            cases.append(_make_case(rng, d, dtype, rng.choice(["padded", "packed"]), "reference"))
    for d, dtype in ((64, torch.float16), (100, torch.float16), (64, torch.float32), (128, torch.bfloat16)):
        cases.append(_make_case(rng, d, dtype, rng.choice(["padded", "packed"]), "auto"))
    for d in HOPPER_HEAD_SIZES:  # every dtype and layout, plus a long sequence (2048/4096) of each layout
        for dtype in (torch.float16, torch.bfloat16):
            for layout in ("padded", "packed"):
                cases.append(_make_case(rng, d, dtype, layout, "hopper"))
        for layout in ("padded", "packed"):
            cases.append(_make_case(rng, d, rng.choice([torch.float16, torch.bfloat16]), layout, "hopper", long=True))
    for d in CUDNN_HEAD_SIZES:  # cuDNN takes the padded layout only
        for dtype in (torch.float16, torch.bfloat16):
            cases.append(_make_case(rng, d, dtype, "padded", "cudnn", long=d == 64))
    return cases


GRID = _grid()


def _case_id(c: dict) -> str:
    dt = str(c["dtype"]).replace("torch.", "")
    return (f"{c['backend']}-{dt}-d{c['head_size']}-{c['layout']}-B{len(c['lens'])}-S{c['seq']}"
            f"-H{c['heads']}kv{c['kv_heads']}")


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def expected_family(c: dict, device) -> str:
    """The family the dispatcher must run for case c on `device`, as the library's capability query says: the
    forced one (which must be able to run it), or `auto`'s choice for the case's padded/mean length."""
    kw = dict(num_heads=c["heads"], num_kv_heads=c["kv_heads"], layout=c["layout"], device=device.index or 0)
    if c["backend"] != "auto":
        answer = capabilities.supports(c["backend"], _dtype_name(c["dtype"]), c["head_size"], **kw)
        assert answer, f"the grid asks {c['backend']} for a case it cannot run: {answer.reason}"
        return c["backend"]
    lens = c["lens"]
    mean = c["seq"] if c["layout"] == "padded" else sum(lens) // len(lens)
    return capabilities.auto_backend(_dtype_name(c["dtype"]), c["head_size"], seq_len=mean, **kw)[0]


def _run_case(c: dict, testapi, device):
    gen = torch.Generator(device="cpu").manual_seed(zlib.crc32(_case_id(c).encode()))
    b, s, h, kv, d = len(c["lens"]), c["seq"], c["heads"], c["kv_heads"], c["head_size"]
    q = torch.randn(b, s, h * d, generator=gen).to(device=device, dtype=c["dtype"])
    k = torch.randn(b, s, kv * d, generator=gen).to(device=device, dtype=c["dtype"])
    v = torch.randn(b, s, kv * d, generator=gen).to(device=device, dtype=c["dtype"])
    ref = sdpa_padded(q, k, v, c["lens"], h, kv, d, c["scale"])
    kw = dict(num_heads=h, num_kv_heads=kv, head_size=d, scale=c["scale"], backend=c["backend"])
    if c["layout"] == "padded":
        lens_dev = torch.tensor(c["lens"], dtype=torch.int32, device=device)
        out = torch.full_like(q, float("nan"))  # stale values must not survive in padded rows
        out, used = testapi.attention(q, k, v, lens_dev, layout="padded", out=out, **kw)
    else:
        packed, used = testapi.attention(pack(q, c["lens"]), pack(k, c["lens"]), pack(v, c["lens"]),
                                         cu_seqlens(c["lens"], device), layout="packed", **kw)
        out = unpack(packed, c["lens"], s)
    torch.cuda.synchronize()
    return out, ref, used


@pytest.mark.parametrize("case", GRID, ids=[_case_id(c) for c in GRID])
def test_kernel_matches_sdpa(case, testapi, cuda, record, request):
    if case["backend"] == "cudnn":
        request.getfixturevalue("cudnn_available")
    out, ref, used = _run_case(case, testapi, cuda)
    atol, rtol = TOLERANCE[case["dtype"]]
    config = {k: (str(v) if k == "dtype" else v) for k, v in case.items() if k != "lens"}
    config.update(batch=len(case["lens"]), lens_min=min(case["lens"]), lens_max=max(case["lens"]), used=used)
    valid = valid_rows(case["lens"], case["seq"], cuda)
    diff = (out.float() - ref).abs()
    max_abs = float(diff[valid].max()) if bool(valid.any()) else 0.0
    max_rel = max_abs / max(float(ref.abs().max()), 1e-6)
    padded_rows_zero = bool((out[~valid] == 0).all()) if bool((~valid).any()) else True
    within = bool((diff <= atol + rtol * ref.abs()).all())
    passed = within and padded_rows_zero and not bool(torch.isnan(out[valid]).any())
    record(dict(test="kernel", id=_case_id(case), **config, max_abs=max_abs, max_rel=max_rel, passed=passed))
    assert used == expected_family(case, cuda), f"{config}: dispatcher ran {used}"
    assert padded_rows_zero, f"{config}: padded query rows are not exact zeros"
    assert within, f"{config}: max abs error {max_abs:.3g} (rel {max_rel:.3g}) > atol {atol} + rtol {rtol}"


# Both flash tilings (64- and 128-row query tiles) for every head size that has two: the grid above runs
# the one the dispatcher picks for its mean length; here the same cases run with each forced.
TILING_CASES = [(c, rows) for c in GRID if c["backend"] == "flash" and c["head_size"] <= 128 for rows in (1, 2)]


@pytest.mark.parametrize("case,rows", TILING_CASES, ids=[f"m{64 * r}-{_case_id(c)}" for c, r in TILING_CASES])
def test_each_flash_tiling_matches_sdpa(case, rows, testapi, cuda):
    with testapi.flash_tiling(rows):
        out, ref, used = _run_case(case, testapi, cuda)
    atol, rtol = TOLERANCE[case["dtype"]]
    valid = valid_rows(case["lens"], case["seq"], cuda)
    assert used == "flash"
    assert bool((out[~valid] == 0).all()), "padded query rows are not exact zeros"
    assert bool(((out.float() - ref).abs() <= atol + rtol * ref.abs()).all())


@pytest.mark.parametrize("dtype,head_size", [
    (torch.float16, 64), (torch.bfloat16, 256), (torch.float16, 100), (torch.float32, 64)])
def test_auto_runs_what_the_query_says(dtype, head_size, testapi, cuda):
    q = torch.randn(2, 8, 2 * head_size, device=cuda, dtype=dtype)
    expect, why = capabilities.auto_backend(_dtype_name(dtype), head_size, seq_len=8, num_heads=2,
                                            device=cuda.index or 0)
    _, used = testapi.attention(q, q.clone(), q.clone(), None, num_heads=2, num_kv_heads=2, head_size=head_size,
                                scale=0.1, backend="auto")
    assert used == expect, f"auto with {dtype} d={head_size} ran {used}; the query said {why}"


@pytest.mark.parametrize("dtype,head_size,needle", [(torch.float32, 64, "float16"), (torch.float16, 100, "64")])
def test_explicit_flash_unsupported_names_what_is(dtype, head_size, needle, testapi, cuda):
    q = torch.randn(1, 4, head_size, device=cuda, dtype=dtype)
    answer = capabilities.supports("flash", _dtype_name(dtype), head_size, device=cuda.index or 0)
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
    # Host validation would reject these; the kernels must still stay inside the tensors.
    t = 201
    q = torch.randn(t, 2 * 64, device=cuda, dtype=torch.float16)
    kv = torch.randn(t, 64, device=cuda, dtype=torch.float16)
    for cu in ([0, 150, 40, 500, -7], [5, 9999, 3], [0, -1, 2**31 - 1]):
        cu_t = torch.tensor(cu, dtype=torch.int32, device=cuda)
        testapi.attention(q, kv, kv, cu_t, num_heads=2, num_kv_heads=1, head_size=64, scale=0.125, layout="packed",
                          backend=backend)
        torch.cuda.synchronize()  # a fault would raise here


def test_auto_picks_cudnn_for_long_padded_batches(testapi, cuda, cudnn_available):
    q = torch.randn(2, 512, 4 * 64, device=cuda, dtype=torch.float16)
    lens = torch.tensor([512, 300], dtype=torch.int32, device=cuda)
    _, used = testapi.attention(q, q.clone(), q.clone(), lens, num_heads=4, num_kv_heads=4, head_size=64, scale=0.125)
    expect, why = capabilities.auto_backend("float16", 64, seq_len=512, num_heads=4, device=cuda.index or 0)
    assert used == expect, f"ran {used}; the query said {why}"
    if torch.cuda.get_device_capability(cuda)[0] >= 9:
        assert used == "cudnn", why  # the rule this test is about: long padded batches on Hopper go to cuDNN


@pytest.mark.parametrize("lens", [[0, 0], [999, -5], [2**31 - 1, 3]])
def test_cudnn_out_of_range_lengths_are_clamped(lens, testapi, cuda, cudnn_available):
    # The CUDA path cannot validate device lengths without a host sync: like flash, cuDNN sees them clamped
    # to [0, S], never reads past the tensors, and rows past the clamped length are zeros.
    s, h, d = 384, 2, 64
    q = torch.randn(2, s, h * d, device=cuda, dtype=torch.bfloat16)
    clamped = [min(max(n, 0), s) for n in lens]
    out, used = testapi.attention(q, q.clone(), q.clone(), torch.tensor(lens, dtype=torch.int32, device=cuda),
                                  num_heads=h, num_kv_heads=h, head_size=d, scale=0.125, backend="cudnn",
                                  out=torch.full_like(q, float("nan")))
    torch.cuda.synchronize()
    ref = sdpa_padded(q, q, q, clamped, h, h, d, 0.125)
    valid = valid_rows(clamped, s, cuda)
    assert used == "cudnn" and bool((out[~valid] == 0).all())
    assert bool(((out.float() - ref).abs()[valid] <= 4e-2 + 2e-2 * ref.abs()[valid]).all())


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


def _check_bias(out, ref, lens, s, dtype, device, what):
    atol, rtol = TOLERANCE[dtype]
    valid = valid_rows(lens, s, device)
    diff = (out.float() - ref).abs()
    assert bool((out[~valid] == 0).all()), f"{what}: padded query rows are not exact zeros"
    assert not bool(torch.isnan(out[valid]).any()), f"{what}: NaN in valid rows"
    assert bool((diff <= atol + rtol * ref.abs()).all()), f"{what}: max abs error {float(diff[valid].max()):.3g}"


@pytest.mark.parametrize("case", BIAS_CASES, ids=[_bias_case_id(c) for c in BIAS_CASES])
def test_bias_matches_sdpa(case, testapi, cuda, record):
    backend, dtype, d, form = case
    b, s, h, kv = 4, 200, 4, 2  # 200: a partial last tile for every flash tiling
    lens = [200, 131, 0, 65]
    scale = 1 / math.sqrt(d)
    q, k, v, bias = bias_inputs(zlib.crc32(_bias_case_id(case).encode()), b, s, h, kv, d, dtype, cuda, form)
    ref = sdpa_padded(q, k, v, lens, h, kv, d, scale, bias=bias)
    out, used = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=cuda), num_heads=h,
                                  num_kv_heads=kv, head_size=d, scale=scale, backend=backend,
                                  out=torch.full_like(q, float("nan")), bias=bias)
    torch.cuda.synchronize()
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
        out, used = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=cuda), num_heads=h,
                                      num_kv_heads=h, head_size=d, scale=0.125, backend="flash", bias=bias)
    torch.cuda.synchronize()
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
    out, _ = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=cuda), num_heads=h,
                               num_kv_heads=h, head_size=d, scale=0.125, backend=backend, bias=bias)
    torch.cuda.synchronize()
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
    out, _ = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=cuda), num_heads=h,
                               num_kv_heads=h, head_size=d, scale=0.2, backend=backend, bias=poisoned)
    torch.cuda.synchronize()
    _check_bias(out, ref, lens, s, dtype, cuda, f"{backend} poisoned padding")


@pytest.mark.parametrize("backend", ["reference", "flash"])
def test_expanded_bias_view_is_read_through_its_strides(backend, testapi, cuda):
    # A [1, H, S, S] bias expanded to [B, H, S, S] (batch stride 0) and a [S, S] one expanded over batch and heads.
    b, s, h, d, dtype = 3, 70, 4, 64, torch.float16
    lens = [70, 33, 70]
    q, k, v, bias = bias_inputs(9, b, s, h, h, d, dtype, cuda, "1HSS")
    for view in (bias.expand(b, h, s, s), bias[:, :1].expand(b, h, s, s)):
        ref = sdpa_padded(q, k, v, lens, h, h, d, 0.125, bias=view)
        out, _ = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=cuda), num_heads=h,
                                   num_kv_heads=h, head_size=d, scale=0.125, backend=backend, bias=view)
        torch.cuda.synchronize()
        _check_bias(out, ref, lens, s, dtype, cuda, f"{backend} expanded view")


def test_auto_with_bias_passes_over_cudnn(testapi, cuda):
    # S = 512 is where auto prefers cudnn on Hopper; with a bias it must run flash, and say why.
    b, s, h, d, dtype = 2, 512, 4, 64, torch.float16
    lens = [512, 300]
    q, k, v, bias = bias_inputs(3, b, s, h, h, d, dtype, cuda, "1HSS")
    expect, why = capabilities.auto_backend("float16", d, seq_len=s, num_heads=h, bias=True, device=cuda.index or 0)
    assert expect == "flash" and "cudnn: " in why, why
    out, used = testapi.attention(q, k, v, torch.tensor(lens, dtype=torch.int32, device=cuda), num_heads=h,
                                  num_kv_heads=h, head_size=d, scale=0.125, bias=bias)
    torch.cuda.synchronize()
    assert used == "flash"
    _check_bias(out, sdpa_padded(q, k, v, lens, h, h, d, 0.125, bias=bias), lens, s, dtype, cuda, "auto")


def test_cudnn_refuses_a_bias_with_the_fix(testapi, cuda):
    q = torch.randn(1, 16, 64, device=cuda, dtype=torch.float16)
    bias = torch.zeros(1, 1, 16, 16, device=cuda, dtype=torch.float16)
    with pytest.raises(RuntimeError) as e:
        testapi.attention(q, q, q, None, num_heads=1, num_kv_heads=1, head_size=64, scale=1.0, backend="cudnn",
                          bias=bias)
    assert "attn_bias" in str(e.value) and "'auto'" in str(e.value), str(e.value)
