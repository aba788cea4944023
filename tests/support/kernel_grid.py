"""The GPU kernel grid: a seeded randomized set of cases, their inputs and their reference, shared by the kernel
tests (tests/plugins/test_gpu_kernels.py) and the fault-injection tests (tests/plugins/test_gpu_faults.py).

Batch 1-64, lengths 1..4096 (odd, ragged, tile-boundary and zero lengths), every flash head size, GQA ratios
1/2/4/8, fp16/bf16 (+fp32 and odd head sizes for the reference kernel), padded and packed layouts, default /
custom / negative scales. Inputs are unit-scale normal; the reference is PyTorch's SDPA in fp32 math mode on the
same rounded inputs. The tolerance is tests/support/tolerance.py's.
"""

from __future__ import annotations

import math
import random
import zlib

import torch

from reference import cu_seqlens, pack, sdpa_padded, unpack

from encexport import capabilities, contract


def _compiled_flash_head_sizes() -> list[int]:
    """The head sizes the library has a flash kernel for (generate.py's list, asked of the library), or none
    where the library is not built (the tests then skip for want of it)."""
    if not capabilities.available():
        return []
    return [d for d in range(1, contract.MAX_HEAD_SIZE + 1) if capabilities.supports("flash", "float16", d)]


FLASH_HEAD_SIZES = _compiled_flash_head_sizes()
# The hopper family's compiled head sizes (ENCEXPORT_HOPPER_HEAD_SIZES may build a subset; none without sm_90).
HOPPER_HEAD_SIZES = [d for d in range(16, contract.MAX_HEAD_SIZE + 1, 16)
                     if FLASH_HEAD_SIZES and capabilities.supports("hopper", "float16", d)]
# Head sizes off the 16-grid: the reference family runs them whatever flash compiles.
OTHER_HEAD_SIZES = [1, 8, 24, 40, 72, 100, 200, 255]
CUDNN_HEAD_SIZES = [32, 64, 96, 128, 256]
SEQ_CHOICES = [1, 2, 7, 16, 63, 64, 65, 100, 127, 128, 129, 200, 257, 384, 512, 777, 1024, 2048, 4096]
BATCH_CHOICES = [1, 2, 3, 5, 8, 16, 32, 64]
# Cap on B*H*S*S so the fp32 math oracle (which materialises the score matrix) stays under ~1 GB.
ORACLE_SCORE_BUDGET = 1 << 28


def make_case(rng: random.Random, head_size: int, dtype, layout: str, backend: str, long: bool = False) -> dict:
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
                cases.append(make_case(rng, d, dtype, layout, "flash"))
    for d in (32, 64, 128, 256):  # long sequences (2048/4096) for the common head sizes
        for layout in ("padded", "packed"):
            cases.append(make_case(rng, d, rng.choice([torch.float16, torch.bfloat16]), layout, "flash", long=True))
    for d in [32, 64, 80, 96, 128, 256] + OTHER_HEAD_SIZES:
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            cases.append(make_case(rng, d, dtype, rng.choice(["padded", "packed"]), "reference"))
    for d, dtype in ((64, torch.float16), (100, torch.float16), (64, torch.float32), (128, torch.bfloat16)):
        cases.append(make_case(rng, d, dtype, rng.choice(["padded", "packed"]), "auto"))
    for d in HOPPER_HEAD_SIZES:  # every dtype and layout, plus a long sequence (2048/4096) of each layout
        for dtype in (torch.float16, torch.bfloat16):
            for layout in ("padded", "packed"):
                cases.append(make_case(rng, d, dtype, layout, "hopper"))
        for layout in ("padded", "packed"):
            cases.append(make_case(rng, d, rng.choice([torch.float16, torch.bfloat16]), layout, "hopper", long=True))
    for d in CUDNN_HEAD_SIZES:  # cuDNN takes the padded layout only
        for dtype in (torch.float16, torch.bfloat16):
            cases.append(make_case(rng, d, dtype, "padded", "cudnn", long=d == 64))
    return cases


GRID = _grid()


def case_id(c: dict) -> str:
    dt = str(c["dtype"]).replace("torch.", "")
    return (f"{c['backend']}-{dt}-d{c['head_size']}-{c['layout']}-B{len(c['lens'])}-S{c['seq']}"
            f"-H{c['heads']}kv{c['kv_heads']}")


def dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def expected_family(c: dict, device) -> str:
    """The family the dispatcher must run for case c on `device`, as the library's capability query says: the
    forced one (which must be able to run it), or `auto`'s choice for the case's padded/mean length."""
    kw = dict(num_heads=c["heads"], num_kv_heads=c["kv_heads"], layout=c["layout"], device=device.index or 0)
    if c["backend"] != "auto":
        answer = capabilities.supports(c["backend"], dtype_name(c["dtype"]), c["head_size"], **kw)
        assert answer, f"the grid asks {c['backend']} for a case it cannot run: {answer.reason}"
        return c["backend"]
    lens = c["lens"]
    mean = c["seq"] if c["layout"] == "padded" else sum(lens) // len(lens)
    return capabilities.auto_backend(dtype_name(c["dtype"]), c["head_size"], seq_len=mean, **kw)[0]


def case_inputs(c: dict, device):
    """The case's seeded q, k, v (padded [B, S, width], unit-normal, in the case's dtype) and its reference."""
    gen = torch.Generator(device="cpu").manual_seed(zlib.crc32(case_id(c).encode()))
    b, s, h, kv, d = len(c["lens"]), c["seq"], c["heads"], c["kv_heads"], c["head_size"]
    q = torch.randn(b, s, h * d, generator=gen).to(device=device, dtype=c["dtype"])
    k = torch.randn(b, s, kv * d, generator=gen).to(device=device, dtype=c["dtype"])
    v = torch.randn(b, s, kv * d, generator=gen).to(device=device, dtype=c["dtype"])
    return q, k, v, sdpa_padded(q, k, v, c["lens"], h, kv, d, c["scale"])


def run_kernel(c: dict, q, k, v, testapi, device, library=None):
    """The case through the CUDA test entry point (`library`: another build of it, e.g. the fault-injection one);
    returns (out in the padded form, the family that ran)."""
    kw = dict(num_heads=c["heads"], num_kv_heads=c["kv_heads"], head_size=c["head_size"], scale=c["scale"],
              backend=c["backend"], library=library)
    if c["layout"] == "padded":
        lens_dev = torch.tensor(c["lens"], dtype=torch.int32, device=device)
        out = torch.full_like(q, float("nan"))  # stale values must not survive in padded rows
        out, used = testapi.attention(q, k, v, lens_dev, layout="padded", out=out, **kw)
    else:
        packed, used = testapi.attention(pack(q, c["lens"]), pack(k, c["lens"]), pack(v, c["lens"]),
                                         cu_seqlens(c["lens"], device), layout="packed", **kw)
        out = unpack(packed, c["lens"], c["seq"])
    torch.cuda.synchronize()
    return out, used


def run_case(c: dict, testapi, device):
    q, k, v, ref = case_inputs(c, device)
    out, used = run_kernel(c, q, k, v, testapi, device)
    return out, ref, used
