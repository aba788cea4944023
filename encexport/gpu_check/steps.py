"""The steps of the GPU check. Each writes its log into the run folder and returns whether it passed; the run
goes on after a failed step (except the build) so one call reports everything.

Every result names the commit it measured: from git, or ENCEXPORT_COMMIT / ENCEXPORT_TREE_CLEAN where the
checkout has no history (encexport/provenance.py).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..models import get_recipe, recipe_names

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("build", "tests", "models", "sanitize", "ort-sanitize", "profile", "bench", "e2e", "load")
SANITIZERS = ("memcheck", "racecheck", "initcheck", "synccheck")


def say(msg: str) -> None:
    print(f"[gpu_check] {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], log: Path, *, append: bool = False, env: dict | None = None, **kw) -> bool:
    with open(log, "a" if append else "w") as out:
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env, **kw).returncode == 0


def _tail(path: Path, lines: int) -> None:
    if path.is_file():
        print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]), file=sys.stderr)


def _steps_so_far(out: Path, source: dict) -> list[str]:
    """Steps an earlier call already ran into this folder at the same commit (a check split over several calls
    on one machine, --out pointing at the same folder): the summary then covers them all."""
    try:
        if json.loads((out / "provenance.json").read_text()) != source:
            return []
        line = next(l for l in (out / "env.txt").read_text().splitlines() if l.startswith("steps "))
    except (OSError, ValueError, StopIteration):
        return []
    return line.split()[1:]


def environment(out: Path, steps: list[str]) -> None:
    """env.txt: the device, the toolchain, the versions and the commit measured."""
    from ..provenance import describe, source_revision

    probes = [["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
              ["nvcc", "--version"], ["compute-sanitizer", "--version"]]
    lines = []
    for cmd in probes:
        try:
            text = subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()
            lines.append(text[-1] if cmd[0] == "nvcc" and text else (text[0] if text else f"{cmd[0]}: no output"))
        except FileNotFoundError:
            lines.append(f"{cmd[0]}: not found")
    import torch

    lines.append(f"python {sys.version.split()[0]} torch {torch.__version__} cuda {torch.version.cuda}")
    try:
        import onnxruntime as ort

        lines.append(f"onnxruntime {ort.__version__} {ort.get_available_providers()}")
    except ImportError as exc:
        lines.append(f"onnxruntime: {exc}")
    source = source_revision()
    earlier = _steps_so_far(out, source)
    steps = earlier + [s for s in steps if s not in earlier]
    (out / "provenance.json").write_text(json.dumps(source) + "\n")  # what `record` and the summary read
    lines += [f"measured {describe(source)}", "steps " + " ".join(steps)]
    (out / "env.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), file=sys.stderr)


def build(out: Path) -> bool:
    """sm_90 with the system compiler. A toolchain that links libstdc++ statically would give our libraries a second
    C++ runtime next to torch's and ONNX Runtime's, and iostream formatting in the cuDNN frontend then crashes."""
    env = dict(os.environ, ENCEXPORT_CUDA_ARCHS=os.environ.get("ENCEXPORT_CUDA_ARCHS", "90"),
               JOBS=str(os.cpu_count() or 4), ENCEXPORT_FAULT_INJECTION_CUDA="ON")  # tests/plugins/test_gpu_faults.py
    if Path("/usr/bin/g++").is_file():
        env.update(CXX="/usr/bin/g++", CUDAHOSTCXX="/usr/bin/g++")
    cmd = [sys.executable, "-m", "encexport", "build-plugins"]
    if _run(cmd, out / "build.log", env=env):
        return True
    say("full build failed; retrying without the TensorRT plugin (see build.log)")
    return _run(cmd, out / "build.log", append=True, env=dict(env, ENCEXPORT_WITH_TRT="OFF")) and False


def tests(out: Path) -> bool:
    env = dict(os.environ, ENCEXPORT_REQUIRE_CUDNN="1", ENCEXPORT_GPU_RESULTS=str(out / "gpu_results.json"))
    ok = _run([sys.executable, "-m", "pytest", "-m", "gpu", "tests", "-q", "-p", "no:cacheprovider", "-rs"],
              out / "pytest.log", env=env)
    _tail(out / "pytest.log", 15)
    return ok


def models(out: Path) -> bool:
    """Every family recipe (random weights, no download) exported in fp16 with the legacy exporter and checked
    through ORT CUDA against the fp32 PyTorch model. The registry says which recipes there are."""
    log = out / "models.log"
    log.write_text("")
    ok = True
    for name in recipe_names():
        recipe = get_recipe(name)
        if recipe.load_checkpoint is None or recipe.handling == "refused":  # real weights: test_gpu_models.py
            continue
        ok &= _run([sys.executable, "-m", "encexport", "export", "--model", name, "--exporter", "legacy",
                    "--dtype", "fp16", "--out", str(ROOT / "build" / "gpu_models" / name), "--force",
                    "--providers", "CUDAExecutionProvider,CPUExecutionProvider"], log, append=True)
    print("\n".join(l for l in log.read_text().splitlines() if l.startswith(("wrote", "PASS", "FAIL", "providers"))),
          file=sys.stderr)
    return ok


def sanitize(out: Path) -> bool:
    driver = ROOT / "build" / "plugins" / "encexport_sanitize_driver"
    log = out / "sanitizer.log"
    log.write_text("")
    ok = True
    for tool in SANITIZERS:
        with open(log, "a") as f:
            f.write(f"=== {tool} ===\n")
        ok &= _run(["compute-sanitizer", "--tool", tool, "--error-exitcode", "3", str(driver)], log, append=True)
    marks = ("=== ", "ERROR SUMMARY", "RACECHECK SUMMARY", "sanitize_driver:")
    print("\n".join(l for l in log.read_text().splitlines() if l.startswith(marks) or any(m in l for m in marks[1:])),
          file=sys.stderr)
    return ok


def profile(out: Path) -> bool:
    from . import profile as ncu_profile

    if shutil.which("ncu") is None:
        say("ncu not found: no profile")
        return True
    known = subprocess.run(["ncu", "--query-metrics"], capture_output=True, text=True).stdout
    metrics = ",".join(ncu_profile.available_metrics(known))
    with open(out / "profile_calls.json", "w") as calls, open(out / "profile.log", "w") as log:
        ok = subprocess.run(["ncu", "--profile-from-start", "off", "--csv", "--log-file", str(out / "ncu.csv"),
                             "--metrics", metrics, sys.executable, "-m", "encexport.gpu_check", "profile", "drive"],
                            stdout=calls, stderr=log, cwd=ROOT).returncode == 0
    ncu_profile.report(str(out / "ncu.csv"), str(out / "profile"), str(out / "profile_calls.json"))
    return ok


def bench(out: Path) -> bool:
    extra = shlex.split(os.environ.get("ENCEXPORT_BENCH_ARGS", ""))  # shell quoting: shape names hold spaces
    ok = _run([sys.executable, "-m", "encexport", "bench", "--out", str(out / "perf"), "--force", *extra],
              out / "perf.log")
    _tail(out / "perf.log", 40)
    return ok


def e2e(out: Path) -> bool:
    ok = _run([sys.executable, "-m", "encexport", "bench", "--e2e-only", "--out", str(out / "e2e"), "--force"],
              out / "e2e.log")
    _tail(out / "e2e.log", 40)
    return ok


def ort_sanitize(out: Path) -> bool:
    from .ort_sanitize import step

    return step(out, ROOT)


def load(out: Path) -> bool:
    from .load import step

    return step(out, ROOT)


RUNNERS: dict[str, Callable[[Path], bool]] = {"build": build, "tests": tests, "models": models,
                                               "sanitize": sanitize, "ort-sanitize": ort_sanitize, "profile": profile,
                                               "bench": bench, "e2e": e2e, "load": load}
TITLES = {"build": "build (sm_90)", "tests": "pytest -m gpu tests",
          "models": "every family recipe exported (legacy) and checked through ORT CUDA against PyTorch",
          "sanitize": "compute-sanitizer (memcheck, racecheck, initcheck, synccheck) on the reduced grid",
          "ort-sanitize": "compute-sanitizer (memcheck, racecheck) around ONNX Runtime sessions running our CUDA op",
          "load": "Triton under load: 64 clients for 60 s on the served MiniLM (ours vs the stock optimized model)",
          "profile": "profile: Nsight Compute metrics of each kernel family on the dense benchmark shapes",
          "bench": "benchmark: kernel level (direct calls) and runtime level (ORT sessions)",
          "e2e": "end to end: our exports vs the stock ORT exports (optimizer, packing mode, CUDA graphs)"}
