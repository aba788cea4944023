"""`encexport build-plugins`: (re)compile our libraries in a checkout, incrementally.

`pip install .` compiles them into the wheel; in a checkout this configures plugins/ in build/plugins (the folder
`pip install` uses too) and builds into the checkout's encexport/_lib, where encexport.native finds them. An
installed wheel has nothing to rebuild: the command says where its libraries are.

Environment (as for CMake itself): ENCEXPORT_CUDA_ARCHS, ENCEXPORT_WITH_CUDA=OFF, ENCEXPORT_WITH_TRT=OFF,
ENCEXPORT_FAULT_INJECTION_CUDA=ON (also build the fault-injection test library of the CUDA kernels), CXX,
JOBS, ENCEXPORT_BUILD_DIR.

CUDA architectures: the default is sm_90 only (CI's H100). `encexport triton` copies whatever was built into
the model repository, so a library for Triton servers is built with `--cuda-archs release` (80;86;89;90).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .. import native

ROOT = Path(__file__).resolve().parents[2]


def register(sub) -> None:
    p = sub.add_parser("build-plugins", help="(re)compile the ONNX Runtime / TensorRT plugin libraries in a checkout")
    p.add_argument("--cuda-archs", default=None,
                   help=f'CUDA architectures: "90" (the default, what CI builds and tests), "release" (= '
                        f'"{native.RELEASE_CUDA_ARCHS}": the GPUs Triton users run, A100 to H100; use it for '
                        'libraries that go into model repositories), or a list such as "80;89;90;100"')
    p.add_argument("--no-cuda", action="store_true", help="build the CPU op only")
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(f"[build-plugins] {msg}", file=sys.stderr, flush=True)


def _defines(args) -> dict[str, str]:
    """Only what was asked for: an existing build folder keeps the rest of its configuration."""
    defines = {"CMAKE_BUILD_TYPE": "Release", "ENCEXPORT_LIB_DIR": str(ROOT / "encexport" / "_lib")}
    archs = args.cuda_archs or os.environ.get("ENCEXPORT_CUDA_ARCHS")
    if archs == "release":
        archs = native.RELEASE_CUDA_ARCHS
    if archs:
        defines["ENCEXPORT_CUDA_ARCHS"] = archs
    if args.no_cuda or os.environ.get("ENCEXPORT_WITH_CUDA", "").upper() == "OFF":
        defines["ENCEXPORT_WITH_CUDA"] = "OFF"
    if os.environ.get("ENCEXPORT_WITH_TRT", "").upper() == "OFF":
        defines["ENCEXPORT_WITH_TRT"] = "OFF"
    if os.environ.get("ENCEXPORT_FAULT_INJECTION_CUDA", "").upper() in ("ON", "OFF"):  # the GPU check's test library
        defines["ENCEXPORT_FAULT_INJECTION_CUDA"] = os.environ["ENCEXPORT_FAULT_INJECTION_CUDA"].upper()
    if os.environ.get("CXX"):  # an explicit compiler applies to an existing folder too (CMake re-configures)
        defines["CMAKE_CXX_COMPILER"] = os.environ["CXX"]
    return defines


def run(args) -> int:
    source = ROOT / "plugins"
    if not (source / "CMakeLists.txt").is_file():
        found = ", ".join(n for n in native.FILES if native.available(n)) or "none"
        _say(f"installed encexport: its libraries are in {native.library_dir()} (built: {found}). To build for "
             "other GPUs, install from a checkout: pip install . -Ccmake.define.ENCEXPORT_CUDA_ARCHS=\"80;90\"")
        return 0 if native.available("ort") else 1
    build = Path(os.environ.get("ENCEXPORT_BUILD_DIR") or ROOT / "build" / "plugins")
    jobs = os.environ.get("JOBS") or str(os.cpu_count() or 2)
    _say(f"1/2 configure {source} in {build} (fetches the pinned headers on first use)")
    configure = ["cmake", "-S", str(source), "-B", str(build), "-G", "Unix Makefiles"]
    if (build / "CMakeCache.txt").is_file():
        configure = configure[:-2]  # the generator is fixed once the folder exists
    subprocess.run(configure + [f"-D{k}={v}" for k, v in _defines(args).items()], check=True,
                   stdout=subprocess.DEVNULL)
    _say(f"2/2 compile (-j{jobs})")
    subprocess.run(["cmake", "--build", str(build), "-j", jobs], check=True)
    _say("built: " + ", ".join(n for n in native.FILES if native.available(n)) + f" in {native.library_dir()}")
    return 0
