"""Whether this machine has a GPU that tritonserver would see: asked of the CUDA driver (libcuda), which honours
CUDA_VISIBLE_DEVICES as the server does. No driver, or a driver without devices, is no GPU."""

from __future__ import annotations

import ctypes


def visible_gpus() -> int:
    """The number of CUDA devices the driver reports here (0 without a driver)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    try:
        if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
    except AttributeError:
        return 0
    return count.value


def resolve_kind(kind: str) -> tuple[str, str]:
    """(`gpu` or `cpu`, a sentence saying why) for --kind auto|gpu|cpu."""
    if kind in ("gpu", "cpu"):
        return kind, f"instance groups: KIND_{kind.upper()} (--kind {kind})"
    if kind != "auto":
        raise ValueError(f"--kind must be auto, gpu or cpu, not {kind!r}")
    gpus = visible_gpus()
    if gpus:
        return "gpu", (f"instance groups: KIND_GPU (--kind auto: {gpus} GPU(s) visible here; pass --kind cpu for a "
                       "server without GPUs)")
    return "cpu", ("instance groups: KIND_CPU (--kind auto: no GPU visible here; pass --kind gpu for a GPU "
                   "server)")
