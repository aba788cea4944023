"""The capability query (encexport_supports / encexport_auto_backend in libencexport_ort.so) on a machine
without a GPU: build facts only (device -1). It must agree with the instantiation table generate.py writes,
refuse invalid parameters with the reason, and give the reasons a node fails with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from encexport import capabilities, contract, ort
from encexport.backends import get_attn_backend
from onnx_models import attention_model
from required_libraries import library_missing

Support = capabilities.Support
ROOT = Path(__file__).resolve().parents[2]
FLASH_TABLE = ROOT / "plugins" / "kernels" / "instantiations" / "flash_instances.inc"
DTYPE_ENUMS = {"DType::kFloat16": "float16", "DType::kBFloat16": "bfloat16", "DType::kFloat32": "float32"}


@pytest.fixture(scope="module", autouse=True)
def library():
    if not capabilities.available():
        library_missing("libencexport_ort.so not built (scripts/build_plugins.sh)")


def _cuda_build() -> bool:
    return "built without CUDA" not in capabilities.supports("flash", "float16", 64).reason


def compiled_flash() -> set[tuple[str, int]]:
    """(dtype, head size) pairs in the table generate.py wrote and dispatch.cu compiles."""
    rows = re.findall(r"ENCEXPORT_FLASH_INSTANCE\(\s*\w+,\s*(DType::\w+),\s*(\d+),\s*\d+\)", FLASH_TABLE.read_text())
    assert rows, f"no instances in {FLASH_TABLE}"
    return {(DTYPE_ENUMS[e], int(d)) for e, d in rows}


def test_flash_answers_agree_with_the_generated_instances():
    if not _cuda_build():
        library_missing("a build without CUDA has no flash family")
    compiled = compiled_flash()
    for dtype in contract.DTYPES:
        for d in range(1, contract.MAX_HEAD_SIZE + 1):
            answer = capabilities.supports("flash", dtype, d)
            assert bool(answer) == ((dtype, d) in compiled), (dtype, d, answer)
            if not answer:
                assert answer.support == Support.OUTSIDE and "'auto'" in answer.reason


def test_flash_refusal_names_what_it_runs():
    if not _cuda_build():
        library_missing("a build without CUDA has no flash family")
    fp32 = capabilities.supports("flash", "float32", 64)
    assert fp32.support == Support.OUTSIDE and "dtype float32" in fp32.reason and "float16" in fp32.reason
    odd = capabilities.supports("flash", "float16", 100)
    sizes = sorted(d for dt, d in compiled_flash() if dt == "float16")
    assert "head_size 100" in odd.reason and ", ".join(map(str, sizes)) in odd.reason


@pytest.mark.parametrize("dtype", contract.DTYPES)
@pytest.mark.parametrize("layout", contract.LAYOUTS)
def test_auto_and_reference_run_every_valid_node(dtype, layout):
    for d in (1, 8, 64, 100, 255, 256):
        for backend in ("auto", "reference"):
            answer = capabilities.supports(backend, dtype, d, num_heads=8, num_kv_heads=2, layout=layout)
            assert answer and answer.reason == "", (backend, d, answer)


def test_cudnn_limits_are_known_without_cudnn():
    if not _cuda_build():
        library_missing("a build without CUDA has no cudnn family")
    assert capabilities.supports("cudnn", "float16", 20).support == Support.OUTSIDE
    packed = capabilities.supports("cudnn", "float16", 64, layout="packed")
    assert packed.support == Support.OUTSIDE and "padded" in packed.reason
    assert capabilities.supports("cudnn", "float32", 64).support == Support.OUTSIDE
    usable = capabilities.supports("cudnn", "bfloat16", 64)
    # A build without the cuDNN headers (CI) knows the limits but cannot run the family.
    assert usable or (usable.support == Support.UNAVAILABLE and "built without cuDNN" in usable.reason)


@pytest.mark.parametrize("kwargs,needle", [
    (dict(backend="turbo"), "unknown backend 'turbo'"),
    (dict(head_size=0), "head_size"),
    (dict(head_size=contract.MAX_HEAD_SIZE + 1), "head_size"),
    (dict(num_heads=0), "num_heads"),
    (dict(num_heads=4, num_kv_heads=3), "multiple of num_kv_heads"),
])
def test_invalid_parameters_are_refused_with_the_reason(kwargs, needle):
    args = dict(backend="flash", dtype="float16", head_size=64)
    args.update(kwargs)
    answer = capabilities.supports(args.pop("backend"), args.pop("dtype"), args.pop("head_size"), **args)
    assert answer.support == Support.INVALID and needle in answer.reason, answer


def test_invalid_codes_are_refused_by_the_library():
    lib = capabilities._library()
    reason = capabilities.ctypes.create_string_buffer(256)
    assert lib.encexport_supports(b"flash", 7, 0, 1, 1, 64, 0, -1, reason, len(reason)) == Support.INVALID
    assert b"unknown dtype 7" in reason.value
    assert lib.encexport_supports(b"flash", 1, 5, 1, 1, 64, 0, -1, reason, len(reason)) == Support.INVALID
    assert b"layout" in reason.value
    assert lib.encexport_supports(None, 1, 0, 1, 1, 64, 0, -1, None, 0) == Support.INVALID  # no buffer: no write


def test_auto_choice_follows_the_table():
    if not _cuda_build():
        family, why = capabilities.auto_backend("float16", 64, seq_len=128)
        assert family == "reference" and "CPU" in why
        return
    hopper = bool(capabilities.supports("hopper", "float16", 64))  # built for sm_90 with the CuTe headers
    family, why = capabilities.auto_backend("float16", 64, seq_len=128, num_heads=12)
    assert family == ("hopper" if hopper else "flash") and "cudnn: S < 257" in why, why
    family, why = capabilities.auto_backend("float16", 64, seq_len=128, num_heads=12, layout="packed")
    assert family == "flash" and why.startswith("flash, 64-row tiles"), why
    if hopper:
        assert "hopper: packed, mean length <= 256" in why
    family, why = capabilities.auto_backend("float16", 64, seq_len=512)
    cudnn = capabilities.supports("cudnn", "float16", 64)
    assert family == ("cudnn" if cudnn else "hopper" if hopper else "flash"), why
    if family == "flash":
        assert "128-row tiles" in why
    if not cudnn:
        assert f"cudnn: {cudnn.reason.split('unavailable: ')[1].split('; use')[0]}" in why
    family, why = capabilities.auto_backend("float32", 100, seq_len=512, layout="packed")
    assert family == "reference" and "cudnn: packed layout" in why and "flash: dtype float32" in why
    with pytest.raises(ValueError, match="num_heads"):
        capabilities.auto_backend("float16", 64, seq_len=8, num_heads=0)


def test_export_refuses_only_what_the_family_cannot_run():
    torch = pytest.importorskip("torch")
    if _cuda_build():
        assert get_attn_backend(64, torch.bfloat16, selected="FLASH").NAME == "FLASH"
        with pytest.raises(ValueError, match=r"FLASH cannot run this layer: .*head_size 100.*'auto'"):
            get_attn_backend(100, torch.float16, selected="FLASH")
    # Missing from this build (cuDNN headers, CUDA) is no reason to refuse an export: it may run elsewhere.
    assert get_attn_backend(64, torch.float16, selected="CUDNN").NAME == "CUDNN"
    assert get_attn_backend(100, torch.float32, selected="REFERENCE").NAME == "REFERENCE"


@pytest.fixture()
def ort_library():
    try:
        ort.library_path()
    except FileNotFoundError as e:
        library_missing(str(e))


def test_cpu_session_refuses_a_forced_family_with_its_reason(ort_library):
    if not _cuda_build():
        library_missing("a build without CUDA has no flash family to ask")
    model = attention_model(num_heads=2, head_size=8, dtype="float32", backend="flash")
    reason = capabilities.supports("flash", "float32", 8, num_heads=2).reason
    with pytest.raises(Exception) as e:
        ort.session(model)
    assert reason in str(e.value) and "CUDAExecutionProvider" in str(e.value), str(e.value)


def test_bias_is_a_family_condition():
    # cudnn runs no attn_bias; flash and reference add it; a packed node with a bias is invalid for every family.
    if _cuda_build():
        answer = capabilities.supports("cudnn", "float16", 64, bias=True)
        assert answer.support == Support.OUTSIDE and "attn_bias" in answer.reason and "'flash'" in answer.reason
        assert capabilities.supports("flash", "float16", 64, bias=True)
        assert capabilities.supports("reference", "float32", 100, bias=True)
        family, why = capabilities.auto_backend("float16", 64, seq_len=512, bias=True)
        assert family == "flash" and "cudnn:" in why, why
    else:
        assert capabilities.supports("reference", "float16", 64, bias=True)
    packed = capabilities.supports("reference", "float16", 64, layout="packed", bias=True)
    assert packed.support == Support.INVALID and "packed layout, which takes no bias" in packed.reason
