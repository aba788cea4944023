"""The fault-injection test libraries (plugins/faults/faults.cmake) as the tests use them: where they are, selecting a
fault, and the results table the runs write.

  libencexport_faults_cpu.so   the CPU kernel (built with every build)
  libencexport_faults_cuda.so  flash and reference (built with -DENCEXPORT_FAULT_INJECTION_CUDA=ON: the GPU check)

Both live in the build folder (build/plugins/faults, or $ENCEXPORT_BUILD_DIR/faults), never in encexport/_lib.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from encexport.provenance import describe, source_revision

ROOT = Path(__file__).resolve().parents[2]

# The values of encexport::faults::Fault (plugins/kernels/fault_injection.h), 0 = none.
FAULTS = {
    "none": 0,
    "drop one key": 1,
    "scale 1 % off": 2,
    "read one row past a sequence": 3,
    "skip zeroing padded rows": 4,
}


def library_path(kind: str) -> Path:
    build = Path(os.environ.get("ENCEXPORT_BUILD_DIR") or ROOT / "build" / "plugins")
    return build / "faults" / f"libencexport_faults_{kind}.so"


@functools.cache
def load(kind: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(library_path(kind)))
    lib.encexport_fault_select.argtypes = [ctypes.c_int]
    lib.encexport_fault_select.restype = None
    return lib


@contextlib.contextmanager
def injected(lib: ctypes.CDLL, fault: int) -> Iterator[None]:
    """Within the block, every call into lib runs with the fault (process-wide)."""
    lib.encexport_fault_select(fault)
    try:
        yield
    finally:
        lib.encexport_fault_select(0)


@dataclass
class Outcome:
    """One fault over one grid: which checks failed, on how many cases, and the case whose error came nearest to its
    bound (or went furthest past it)."""
    kernel: str
    fault: str
    cases: int
    failed_cases: int
    checks: list[str]
    worst_error: float
    worst_bound: float
    worst_case: str
    ratios: dict[str, float]  # per case: the largest error / bound over its valid elements (> 1: outside)

    @property
    def grid_failed(self) -> bool:
        return self.failed_cases > 0


def _ratio(verdict) -> float:
    if math.isnan(verdict.worst_error):
        return math.inf  # a NaN output: outside any bound
    return verdict.worst_error / verdict.worst_bound if verdict.worst_bound else 0.0


def summarise(kernel: str, fault: str, verdicts: dict) -> Outcome:
    """verdicts: case id -> tolerance.Verdict."""
    failed = {cid: v for cid, v in verdicts.items() if not v.passed}
    checks = sorted({check for v in failed.values() for check in v.failed_checks})
    pool = failed or verdicts
    worst_id = max(pool, key=lambda cid: _ratio(pool[cid]))
    worst = pool[worst_id]
    ratios = {cid: _ratio(v) for cid, v in verdicts.items()}
    return Outcome(kernel, fault, len(verdicts), len(failed), checks, worst.worst_error, worst.worst_bound, worst_id,
                   ratios)


def results_dir() -> Path:
    """$ENCEXPORT_FAULT_RESULTS, else next to the GPU check's results ($ENCEXPORT_GPU_RESULTS), else build/."""
    if os.environ.get("ENCEXPORT_FAULT_RESULTS"):
        return Path(os.environ["ENCEXPORT_FAULT_RESULTS"])
    if os.environ.get("ENCEXPORT_GPU_RESULTS"):
        return Path(os.environ["ENCEXPORT_GPU_RESULTS"]).parent
    return ROOT / "build" / "fault_injection"


def write_table(name: str, outcomes: list[Outcome], note: str) -> Path:
    """<results_dir>/<name>.md (the table) and .json (the same records)."""
    source = source_revision()  # the commit the figures measured, as every recorded result names it
    lines = [f"# Fault injection: {note}", "", f"Measured: {describe(source)}.", "",
             "| kernel | fault | grid | caught by | failing cases | worst error vs bound (case) |",
             "|---|---|---|---|---|---|"]
    for o in outcomes:
        verdict = "fails" if o.grid_failed else "passes"
        caught = ", ".join(o.checks) or "-"
        lines.append(f"| {o.kernel} | {o.fault} | {verdict} | {caught} | {o.failed_cases} / {o.cases} | "
                     f"{o.worst_error:.3g} vs {o.worst_bound:.3g} ({o.worst_case}) |")
    for kernel in dict.fromkeys(o.kernel for o in outcomes):
        mine = [o for o in outcomes if o.kernel == kernel]
        lines += ["", f"Error / bound per case, {kernel} (the worst element of each case; > 1 fails the tolerance):", "",
                  "| case | " + " | ".join(o.fault for o in mine) + " |", "|---" * (len(mine) + 1) + "|"]
        for cid in mine[0].ratios:
            lines.append(f"| {cid} | " + " | ".join(f"{o.ratios[cid]:.3g}" for o in mine) + " |")
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    (folder / f"{name}.json").write_text(
        json.dumps({"source": source, "outcomes": [o.__dict__ for o in outcomes]}, indent=1))
    return path
