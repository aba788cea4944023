"""The TensorRT plugin library without TensorRT: encexport_trt_harness drives libencexport_trt.so through the
IPluginV3 interfaces exactly as TensorRT does (registration, parse-time fields, shapes, format negotiation,
serialization round trip, execution-context copies, rejections, a 10,000-case fuzz whose every case the
harness decides from the contract on its own), and the library's ELF interface is checked (only the loadLibrary
entry points exported, libnvinfer never linked).

Built by scripts/build_plugins.sh (needs nvcc and the TensorRT headers); skipped with the reason otherwise, or
failed under ENCEXPORT_REQUIRE_CUDA=1 (CI)."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from encexport.native import library_dir

from required_libraries import library_missing

LIB_DIR = library_dir()  # $ENCEXPORT_LIB_DIR, else the package's _lib folder, like every other library user
LIBRARY = LIB_DIR / "libencexport_trt.so"
HARNESS = LIB_DIR / "encexport_trt_harness"



@pytest.fixture(scope="module", autouse=True)
def built():
    if not (LIBRARY.exists() and HARNESS.exists()):
        library_missing(f"{LIBRARY.name} / {HARNESS.name} not built in {LIB_DIR} (scripts/build_plugins.sh with nvcc "
                        "and the TensorRT headers from scripts/fetch_headers.sh)")


def parse_summary(text: str) -> tuple[dict[str, tuple[int, int]], dict[str, int], int]:
    sections = {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(r"^section (\S+): passed=(\d+) failed=(\d+)$", text, re.M)}
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^count (.+): (\d+)$", text, re.M)}
    failures = re.search(r"^failures: (\d+)$", text, re.M)
    assert failures, f"no summary in harness output:\n{text[-3000:]}"
    return sections, counts, int(failures[1])


def run_harness(*args: str) -> tuple[subprocess.CompletedProcess, dict[str, tuple[int, int]], dict[str, int], int]:
    proc = subprocess.run([str(HARNESS), "cpu", "--lib", str(LIBRARY), *args], capture_output=True, text=True,
                          timeout=600)
    return proc, *parse_summary(proc.stdout)


@pytest.fixture(scope="module")
def cpu_run(built):
    return run_harness("--fuzz-cases", "10000", "--seed", "7")


def test_harness_cpu_mode_passes(cpu_run):
    proc, _, _, failures = cpu_run
    assert proc.returncode == 0 and failures == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


def test_harness_covers_the_tensorrt_call_sequence(cpu_run):
    _, sections, counts, _ = cpu_run
    lifecycle = {name: s for name, s in sections.items() if name.startswith("lifecycle/")}
    assert len(lifecycle) == counts["lifecycle configs"] == 13
    assert {"lifecycle/packed", "lifecycle/gqa_packed", "lifecycle/mqa_padded", "lifecycle/reference_fp32"} <= set(lifecycle)
    # The attn_bias input: five inputs through the whole sequence, in three broadcast forms.
    assert {"lifecycle/bias_per_sequence_and_head", "lifecycle/bias_shared_by_the_batch",
            "lifecycle/bias_shared_by_batch_and_heads"} <= set(lifecycle)
    assert sections["bias/packed_refused"] == (2, 0)
    assert all(passed >= 40 for passed, _ in lifecycle.values()), lifecycle
    assert counts["supportsFormatCombination queries"] > 10_000
    assert sections["registration"] == (6, 0)


def test_harness_rejects_every_bad_field_with_a_message(cpu_run):
    _, sections, _, _ = cpu_run
    passed, failed = sections["reject"]
    assert failed == 0 and passed >= 40
    assert sections["accept"][1] == 0 and sections["accept"][0] >= 7


def test_harness_fuzz_ran_ten_thousand_cases_both_ways(cpu_run):
    _, sections, counts, _ = cpu_run
    assert counts["fuzz cases"] == 10_000
    assert sections["fuzz"][1] == 0
    # Both outcomes occur in both phases, so the fuzz reaches past the first checks.
    for key in ("fuzz attributes accepted", "fuzz attributes rejected", "fuzz engine-fields accepted",
                "fuzz engine-fields rejected"):
        assert counts[key] > 100, key


def test_harness_fuzz_accepts_exactly_what_the_contract_allows(cpu_run):
    # The harness judges each case from the contract on its own (plugins/harness/contract_judge.cpp): the plugin
    # accepted every set judged valid, with the judged values serialized, and refused every other one.
    _, _, counts, _ = cpu_run
    assert counts["fuzz verdict mismatches"] == 0
    assert counts["fuzz judged valid"] + counts["fuzz judged invalid"] == 10_000
    assert counts["fuzz judged valid"] == counts["fuzz attributes accepted"] + counts["fuzz engine-fields accepted"]
    assert counts["fuzz judged valid"] > 1_000 and counts["fuzz judged invalid"] > 5_000


def test_judge_agrees_with_every_rejection_and_acceptance_case(cpu_run):
    # The known table (rejections.cpp): every refused set, e.g. causal=1 or head_size 257, is judged invalid, and
    # every tolerated encoding (kINT64, kFLOAT64, strings without NUL) valid.
    _, sections, _, _ = cpu_run
    passed, failed = sections["judge"]
    # reject and accept also count 3 and 1 checks outside the table (nbFields -1, no field array, unknown phase;
    # a null node name), which carry no field set to judge.
    assert failed == 0 and passed == (sections["reject"][0] - 3) + (sections["accept"][0] - 1)


@pytest.mark.parametrize("flaw, disagreement", [
    ("ignore-causal", "refused a set the contract allows"),   # a judge too lenient
    ("require-scale", "accepted a set the contract forbids"),  # a judge too strict
])
def test_a_wrong_judge_fails_the_fuzz(built, flaw, disagreement):
    # A judge that disagrees with the plugin on one rule must turn cases into counted failures: a judge that
    # only checked self-consistency would pass both runs.
    proc, _, counts, failures = run_harness("--fuzz-cases", "2000", "--seed", "7", "--judge-flaw", flaw)
    assert proc.returncode == 1 and failures >= counts["fuzz verdict mismatches"] >= 10, proc.stdout[-3000:]
    assert f"FAIL [fuzz] {disagreement}" in proc.stdout


def _dynamic_symbols(path: Path) -> tuple[set[str], set[str]]:
    out = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True, check=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if len(line.split()) == 3 and line.split()[1] in "TtDdBbVvWwRr"}
    undefined = subprocess.run(["nm", "-D", "--undefined-only", str(path)], capture_output=True, text=True, check=True).stdout
    return defined, {line.split()[-1] for line in undefined.splitlines() if line.strip()}


@pytest.mark.skipif(shutil.which("nm") is None or shutil.which("readelf") is None, reason="binutils (nm, readelf) missing")
def test_library_exports_only_the_loadlibrary_entry_points():
    defined, undefined = _dynamic_symbols(LIBRARY)
    assert defined == {"getCreators", "setLoggerFinder"}, sorted(defined)
    # TensorRT is found at run time with dlsym, never through an undefined symbol.
    assert not {s for s in undefined if "nvinfer" in s or s in ("getPluginRegistry", "getLogger")}, sorted(undefined)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils (readelf) missing")
def test_library_does_not_link_tensorrt_or_a_shared_cuda_runtime():
    dynamic = subprocess.run(["readelf", "-d", str(LIBRARY)], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", dynamic)
    assert needed, dynamic
    assert not [n for n in needed if "nvinfer" in n or "cudart" in n], needed


def test_library_loads_in_a_process_without_tensorrt():
    # Plain dlopen with no TensorRT present: self-registration finds no registry and does nothing.
    code = f"import ctypes; lib = ctypes.CDLL({str(LIBRARY)!r}); n = ctypes.c_int32(-1); " \
           "lib.getCreators.restype = ctypes.c_void_p; p = lib.getCreators(ctypes.byref(n)); " \
           "assert p and n.value == 1, n.value; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
