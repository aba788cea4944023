"""ENCEXPORT_REQUIRE_CUDA=1 (CI) turns a missing CUDA compiler or TensorRT plugin into a configure error: without
it plugins/CMakeLists.txt falls back to the CPU op with a warning, and every CUDA test would skip silently.
Configures only (a few seconds each, no compile), in a temporary folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from required_libraries import library_missing

ROOT = Path(__file__).resolve().parents[2]
HEADERS = ROOT / "build" / "third_party"
BOGUS_NVCC = "/nonexistent/cuda/bin/nvcc"


def configure(tmp_path: Path, *defines: str, require: bool) -> subprocess.CompletedProcess:
    if shutil.which("cmake") is None:
        library_missing("cmake not found")
    if not (HEADERS / "onnxruntime" / "include" / "onnxruntime_lite_custom_op.h").is_file():
        library_missing(f"the pinned headers are not in {HEADERS} (scripts/fetch_headers.sh)")
    env = {k: v for k, v in os.environ.items() if k not in ("ENCEXPORT_REQUIRE_CUDA", "CUDACXX")}
    if require:
        env["ENCEXPORT_REQUIRE_CUDA"] = "1"
    return subprocess.run(
        ["cmake", "-S", str(ROOT / "plugins"), "-B", str(tmp_path / "build"), f"-DENCEXPORT_THIRD_PARTY={HEADERS}",
         f"-DENCEXPORT_LIB_DIR={tmp_path / 'lib'}", *defines],
        capture_output=True, text=True, env=env, timeout=300)


def test_without_the_switch_a_missing_nvcc_falls_back_to_the_cpu_op(tmp_path):
    proc = configure(tmp_path, f"-DCMAKE_CUDA_COMPILER={BOGUS_NVCC}", require=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "nvcc not found: building the CPU op only" in proc.stderr


def test_with_the_switch_a_missing_nvcc_fails_the_configure_with_the_fix(tmp_path):
    proc = configure(tmp_path, f"-DCMAKE_CUDA_COMPILER={BOGUS_NVCC}", require=True)
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())  # CMake wraps long messages
    assert "ENCEXPORT_REQUIRE_CUDA=1 but no CUDA compiler was found" in message and BOGUS_NVCC in message
    assert "put nvcc on PATH" in message and "unset ENCEXPORT_REQUIRE_CUDA" in message


def test_with_the_switch_turning_cuda_off_fails_the_configure(tmp_path):
    proc = configure(tmp_path, "-DENCEXPORT_WITH_CUDA=OFF", require=True)
    assert proc.returncode != 0
    assert "ENCEXPORT_REQUIRE_CUDA=1 but ENCEXPORT_WITH_CUDA is OFF" in " ".join(proc.stderr.split())
