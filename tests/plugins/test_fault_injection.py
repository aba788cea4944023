"""The tolerance check can fail: the CPU kernel, broken on purpose, must fail the grid's judgement on every fault.

libencexport_faults_cpu.so is the CPU kernel compiled with ENCEXPORT_FAULT_INJECTION (plugins/kernels/
fault_injection.h): dropping one key, a 1 % scale error, one key row read past a sequence, padded rows left
unwritten. Each runs over a small CPU grid (fp32/fp16/bf16, padded and packed, GQA, ragged lengths with padding,
one long sequence per 16-bit dtype) judged by tests/support/tolerance.py against the float64 reference; with no
fault every case passes, with each fault the grid fails. The table goes to build/fault_injection/cpu.md
($ENCEXPORT_FAULT_RESULTS overrides the folder). tests/plugins/test_gpu_faults.py does the same on the GPU kernels.
"""

from __future__ import annotations

import ctypes
import math

import pytest

torch = pytest.importorskip("torch")

import faults  # noqa: E402
from reference import attention_reference, cu_seqlens, pack, random_qkv, unpack  # noqa: E402
from tolerance import judge  # noqa: E402

from encexport import contract  # noqa: E402

DTYPES = {getattr(torch, name): i for i, name in enumerate(contract.DTYPES)}
LAYOUTS = {name: i for i, name in enumerate(contract.LAYOUTS)}

# dtype, layout, heads, kv_heads, head_size, lens, S. Every padded case has padding rows and every packed case more
# than one sequence, so that reading one row past a sequence reads a real row; the long ones show that a long
# sequence's small outputs do not hide a dropped key.
GRID = [
    (torch.float32, "padded", 2, 1, 64, [37, 64, 0], 64),
    (torch.float32, "packed", 8, 1, 16, [1, 2, 7], 7),
    (torch.float16, "packed", 4, 2, 32, [5, 100, 63], 100),
    (torch.float16, "padded", 1, 1, 64, [2048, 300], 2048),
    (torch.bfloat16, "padded", 2, 2, 128, [129, 77], 129),
    (torch.bfloat16, "packed", 1, 1, 64, [1500, 3], 1500),
]


def _case_id(c) -> str:
    dtype, layout, h, kv, d, lens, s = c
    return f"{str(dtype)[6:]}-{layout}-H{h}kv{kv}-d{d}-S{s}-lens{'_'.join(map(str, lens))}"


def _run_cpu(lib, c, q, k, v):
    """The case through the fault library's CPU entry point; the output in the padded form."""
    dtype, layout, h, kv, d, lens, s = c
    if layout == "packed":
        q, k, v = (pack(x, lens).contiguous() for x in (q, k, v))
        lengths, batch, seq_len, tokens = cu_seqlens(lens), len(lens), 0, q.shape[0]
    else:
        lengths, batch, seq_len, tokens = torch.tensor(lens, dtype=torch.int32), len(lens), s, len(lens) * s
    out = torch.full_like(q, float("nan"))  # stale values must not survive in padded rows
    err = ctypes.create_string_buffer(512)
    rc = lib.encexport_fault_cpu_attention(q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(),
                                           lengths.data_ptr(), DTYPES[dtype], LAYOUTS[layout], batch, seq_len, tokens,
                                           h, kv, d, 1 / math.sqrt(d), err, len(err))
    assert rc == 0, err.value.decode()
    return unpack(out, lens, s) if layout == "packed" else out


@pytest.fixture(scope="module")
def outcomes() -> dict[str, faults.Outcome]:
    path = faults.library_path("cpu")
    if not path.is_file():
        pytest.fail(f"{path} not built: `encexport build-plugins` builds it with the other libraries")
    lib = faults.load("cpu")
    lib.encexport_fault_cpu_attention.restype = ctypes.c_int
    lib.encexport_fault_cpu_attention.argtypes = ([ctypes.c_void_p] * 5 + [ctypes.c_int] * 4 + [ctypes.c_longlong]
                                                  + [ctypes.c_int] * 3 + [ctypes.c_float, ctypes.c_char_p, ctypes.c_int])
    cases = []
    for i, c in enumerate(GRID):
        dtype, layout, h, kv, d, lens, s = c
        q, k, v = random_qkv((len(lens), s), h, kv, d, dtype=dtype, seed=100 + i)
        ref = attention_reference(q, k, v, lens, num_heads=h, num_kv_heads=kv, head_size=d, scale=1 / math.sqrt(d))
        cases.append((c, q, k, v, ref))
    result = {}
    for name, fault in faults.FAULTS.items():
        verdicts = {}
        with faults.injected(lib, fault):
            for c, q, k, v, ref in cases:
                verdicts[_case_id(c)] = judge(_run_cpu(lib, c, q, k, v), ref, c[5], c[0])
        result[name] = faults.summarise("cpu", name, verdicts)
    path = faults.write_table("cpu", list(result.values()), "the CPU kernel (tests/plugins/test_fault_injection.py)")
    print(f"fault-injection table: {path}")
    return result


def test_grid_passes_without_a_fault(outcomes):
    o = outcomes["none"]
    assert not o.grid_failed, f"{o.failed_cases} cases fail with no fault: {o.checks}, worst {o.worst_case}"


@pytest.mark.parametrize("fault", [name for name in faults.FAULTS if name != "none"])
def test_grid_fails_on_the_fault(fault, outcomes):
    o = outcomes[fault]
    assert o.grid_failed, (f"the grid passed a CPU kernel with '{fault}': its checks cannot see it (closest case "
                           f"{o.worst_case}: error {o.worst_error:.3g} vs bound {o.worst_bound:.3g})")


def test_the_shipped_library_has_no_fault_selector(ort_library):
    # The faults exist only in the test libraries: the ORT library must not even export the selector.
    lib = ctypes.CDLL(str(ort_library))
    assert not hasattr(lib, "encexport_fault_select")
