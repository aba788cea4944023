"""A subset of the fuzz cases under valgrind memcheck: no invalid read/write or uninitialised use inside
libencexport_ort.so on the CPU path (the checks must refuse before any out-of-bounds access, and accepted
cases must read only their own rows). Errors in Python, the loader or ORT itself are not ours and are ignored."""

import os
import re
import shutil

import pytest

from fuzz_judge import failures, judge, run_runner
from ort_fuzz_cases import make_case
from test_ort_fuzz import SEED

PER_PLAIN_CATEGORY = 3  # categories without sub-kinds (valid, wrong_attribute_type, ...) get a few cases each
LIBRARY_FRAME = re.compile(r"libencexport_ort|encexport::")
# memcheck runs code ~20-50x slower, and the first case also pays session creation under it: a case counts as
# hung only past this (the plain fuzz keeps fuzz_judge.HANG_SECONDS).
VALGRIND_HANG_SECONDS = 60.0


def pick_indices(seed: int) -> list[int]:
    """The first case of every sub-kind in the seeded stream (~65) and the first packed q|k|v case of every category
    that has sub-kinds, plus a few of each plain category (one of them in the packed q|k|v form)."""
    first, plain = {}, {}
    for index in range(2000):
        case = make_case(seed, index)
        if ":" in case.category:
            first.setdefault(case.category, index)
            if case.packed_qkv:
                first.setdefault((case.category.split(":")[0], "packed_qkv"), index)
        else:
            form = plain.setdefault((case.category, case.packed_qkv), [])
            if len(form) < (1 if case.packed_qkv else PER_PLAIN_CATEGORY - 1):
                form.append(index)
    return sorted({*first.values(), *(i for ix in plain.values() for i in ix)})


def library_errors(log: str) -> list[str]:
    """valgrind error blocks (one per reported error context) with a frame in our library."""
    blocks = re.split(r"\n(?===\d+== \S[^\n]*\n==\d+==    (?:at|by) )", log)
    return [b for b in blocks if re.search(r"==\d+== (Invalid|Conditional|Use of uninit|Mismatched|Source and)", b)
            and LIBRARY_FRAME.search(b)]


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_fuzz_subset_under_memcheck(ort_library, reliability_dir):
    indices = pick_indices(SEED)
    out = reliability_dir / "ort_valgrind"
    log = reliability_dir / "memcheck.log"
    # PYTHONMALLOC=malloc: let memcheck see every allocation (pymalloc's arenas hide overruns).
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    prefix = ["valgrind", "--tool=memcheck", "--error-exitcode=0", "--num-callers=40", f"--log-file={log}"]
    proc = run_runner(ort_library, SEED, indices, out, prefix=prefix, env=env, timeout=300)
    outcomes = judge(SEED, indices, out, proc, hang_seconds=VALGRIND_HANG_SECONDS)
    assert proc.returncode == 0 and not any(o.problems for o in outcomes), failures(outcomes)
    text = log.read_text()
    assert "ERROR SUMMARY" in text, "valgrind did not finish"
    ours = library_errors(text)
    assert not ours, f"memcheck errors in libencexport_ort.so over {len(indices)} cases:\n" + "\n\n".join(b[:2500] for b in ours[:3])
    print(f"\nmemcheck: {len(indices)} fuzz cases, 0 errors in libencexport_ort.so")
