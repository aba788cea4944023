"""Copy a GPU check run's results into the repository (bench/results), under names that say what they are.

    python -m encexport.gpu_check record RUN [--prefix h100] [--results bench/results] [--allow-dirty]

RUN is the run folder or the gpu_check.tgz the device machine returns. The run's own provenance.json (written
when it started, from git or ENCEXPORT_COMMIT / ENCEXPORT_TREE_CLEAN) names the commit it measured; a run of a
dirty or unknown tree is refused unless --allow-dirty, since the recorded files are what the docs quote.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from ..provenance import DirtyResults, describe, refuse_dirty

ROOT = Path(__file__).resolve().parents[2]
# run file -> recorded name ({prefix}; {short}: the commit's first 7 characters; {steps}: "-build-load" for a run
# of some steps, so that several calls at one commit keep their summaries apart). The names without {short} are
# what the docs read as "the" recorded run: only a run of every step writes them; a run of some steps writes them
# with "-{short}{steps}" added (partial_name), so it never replaces the full run's records.
RECORDED = {
    "summary.md": "{prefix}-gpu-check-{short}{steps}-summary.md",
    "perf/performance.md": "{prefix}-performance-{short}{steps}.md",
    "e2e/performance.md": "{prefix}-e2e-performance-{short}{steps}.md",
    "fault_injection_gpu.md": "{prefix}-fault-injection-{short}{steps}.md",
    "gpu_results.json": "{prefix}-gpu-check.json",
    "perf/bench.json": "{prefix}-bench.json",
    "e2e/bench.json": "{prefix}-e2e.json",
    "profile.json": "{prefix}-profile.json",
    "profile.md": "{prefix}-profile.md",
    "ort_sanitize.json": "{prefix}-ort-sanitize.json",
    "load/load.json": "{prefix}-triton-load.json",
    "load/load.md": "{prefix}-triton-load.md",
    "load/load.png": "{prefix}-triton-load.png",
}


def run_source(folder: Path) -> dict:
    """The commit a run measured: provenance.json, else the `measured commit X (Y tree)` line of env.txt (runs
    from before provenance.json existed; only 12 characters of the commit), else unknown."""
    folder = Path(folder)
    if (folder / "provenance.json").is_file():
        return json.loads((folder / "provenance.json").read_text())
    env = folder / "env.txt"
    found = re.search(r"measured commit (\S+) \((\w+) tree\)", env.read_text()) if env.is_file() else None
    return {"commit": found.group(1), "tree": found.group(2)} if found else {"commit": "unknown", "tree": "unknown"}


def run_steps(folder: Path) -> str:
    """"-a-b" for a run of steps a and b (env.txt's `steps` line), "" for a run of every step."""
    from .steps import STEPS

    env = Path(folder) / "env.txt"
    lines = [l.split()[1:] for l in env.read_text().splitlines() if l.startswith("steps ")] if env.is_file() else []
    steps = lines[-1] if lines else []
    return "" if not steps or set(steps) >= set(STEPS) else "-" + "-".join(steps)


def partial_name(template: str, steps: str) -> str:
    """The recorded name of a run of some steps (`steps` non-empty): commit and steps added to the shared names."""
    if not steps or "{short}" in template:
        return template
    stem, ext = template.rsplit(".", 1)
    return f"{stem}-{{short}}{{steps}}.{ext}"


def _unpacked(run: Path, scratch: Path) -> Path:
    if run.is_dir():
        return run
    if run.is_file() and tarfile.is_tarfile(run):
        with tarfile.open(run) as tar:
            tar.extractall(scratch, filter="data")
        return scratch
    raise FileNotFoundError(f"{run} is neither a run folder nor a gpu_check.tgz; pass the folder the GPU check "
                            "wrote ($OUT or build/gpu_check) or the archive it returned")


def record(run: Path, *, results: Path | None = None, prefix: str = "h100", allow_dirty: bool = False) -> list[Path]:
    """Copy the run's result files into `results`; the paths written. Raises DirtyResults before writing
    anything when the run's tree was not a clean commit and allow_dirty is False."""
    results = Path(results or ROOT / "bench" / "results")
    with tempfile.TemporaryDirectory() as scratch:
        folder = _unpacked(Path(run), Path(scratch))
        source = run_source(folder)
        refuse_dirty(source, allow_dirty=allow_dirty, what=f"the results in {run}")
        present = {name: folder / name for name in RECORDED if (folder / name).is_file()}
        if not present:
            raise FileNotFoundError(f"{run} holds none of the result files ({', '.join(RECORDED)})")
        results.mkdir(parents=True, exist_ok=True)
        written = []
        steps = run_steps(folder)
        for name, path in present.items():
            target = results / partial_name(RECORDED[name], steps).format(prefix=prefix, short=source["commit"][:7],
                                                                          steps=steps)
            shutil.copyfile(path, target)
            written.append(target)
    print(f"recorded {describe(source)} from {run}:", *(f"  {p}" for p in written), sep="\n")
    return written


def main(run: str, results: str | None, prefix: str, allow_dirty: bool) -> int:
    try:
        record(Path(run), results=Path(results) if results else None, prefix=prefix, allow_dirty=allow_dirty)
    except (DirtyResults, FileNotFoundError) as exc:
        print(f"record: error: {exc}", file=sys.stderr)
        return 1
    return 0
