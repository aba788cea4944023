"""Our native libraries: where they are and how each is loaded. The only module that knows.

The libraries are built by `pip install .` (scikit-build-core runs plugins/CMakeLists.txt) or, in a checkout, by
`encexport build-plugins`; both put them in the package's `_lib` folder. `$ENCEXPORT_LIB_DIR` points elsewhere.

  ort      libencexport_ort.so      ONNX Runtime custom-op library (register_custom_ops_library)
  trt      libencexport_trt.so      TensorRT IPluginV3 library (IPluginRegistry.load_library)
  testapi  libencexport_testapi.so  direct calls into the CUDA kernels and the capability query (tests, benchmarks)
  harness  encexport_trt_harness    the program that drives the TensorRT plugin as TensorRT would
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

FILES = {
    "ort": "libencexport_ort.so",
    "trt": "libencexport_trt.so",
    "testapi": "libencexport_testapi.so",
    "harness": "encexport_trt_harness",
}
# What building each one needs, for the error that names the fix.
NEEDS = {"ort": "a C++ compiler", "trt": "nvcc and the TensorRT headers", "testapi": "nvcc",
         "harness": "nvcc and the TensorRT headers"}
# Per-library overrides, e.g. a Triton repository's copy of the ORT library.
OVERRIDES = {"ort": "ENCEXPORT_ORT_LIB", "trt": "ENCEXPORT_TRT_LIB"}
# CUDA architectures of a library meant for other machines (Triton model repositories): sm_80 A100, sm_86 A10 /
# A40 / RTX 30, sm_89 L4 / L40 / RTX 40, sm_90 H100 / H200. The default build (and CI) is sm_90 only.
RELEASE_CUDA_ARCHS = "80;86;89;90"


def library_dir() -> Path:
    """Where the libraries are: $ENCEXPORT_LIB_DIR, else the package's `_lib` folder."""
    override = os.environ.get("ENCEXPORT_LIB_DIR")
    return Path(override) if override else Path(__file__).resolve().parent / "_lib"


def _path(name: str) -> Path:
    if name not in FILES:
        raise ValueError(f"unknown library {name!r}; one of {', '.join(FILES)}")
    override = os.environ.get(OVERRIDES.get(name, ""), "")
    return Path(override) if override else library_dir() / FILES[name]


def available(name: str) -> bool:
    return _path(name).is_file()


def library_path(name: str) -> Path:
    """The library's path; FileNotFoundError naming the fix if it was never built."""
    path = _path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: build the libraries with `pip install .` or, in a checkout, `encexport build-plugins` "
            f"({FILES[name]} needs {NEEDS[name]})")
    return path


@functools.cache
def load(name: str) -> ctypes.CDLL:
    """The library dlopen'ed into this process (once). TensorRT's copy is loaded by TensorRT instead:
    see encexport.build.load_plugin."""
    return ctypes.CDLL(str(library_path(name)))
