"""`encexport build-plugins`: compile libencexport_ort.so (and the TensorRT plugin) from the checkout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def register(sub) -> None:
    p = sub.add_parser("build-plugins", help="compile the ONNX Runtime / TensorRT plugin libraries")
    p.add_argument("--cuda-archs", default=None, help='CUDA architectures, e.g. "90" (default) or "80;89;90;100"')
    p.add_argument("--no-cuda", action="store_true", help="build the CPU op only")
    p.set_defaults(func=run)


def run(args) -> int:
    script = ROOT / "scripts" / "build_plugins.sh"
    if not script.is_file():
        raise FileNotFoundError(f"{script} not found: build-plugins needs a source checkout of encexport")
    env = dict(os.environ)
    if args.cuda_archs:
        env["ENCEXPORT_CUDA_ARCHS"] = args.cuda_archs
    if args.no_cuda:
        env["ENCEXPORT_WITH_CUDA"] = "OFF"
    return subprocess.call(["bash", str(script)], env=env)
