"""ONNX Runtime side: where the custom-op library is, and sessions that have it registered."""

from __future__ import annotations

import os
from pathlib import Path

LIB_NAME = "libencexport_ort.so"
_LIB_DIR = Path(__file__).resolve().parent / "_lib"


def library_path() -> Path:
    """Path of libencexport_ort.so ($ENCEXPORT_ORT_LIB overrides); a clear error if it was never built."""
    override = os.environ.get("ENCEXPORT_ORT_LIB")
    path = Path(override) if override else _LIB_DIR / LIB_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: build the plugin libraries with `encexport build-plugins` "
                                "(or scripts/build_plugins.sh)")
    return path


def session_options(**settings):
    """SessionOptions with the encexport library registered."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    for name, value in settings.items():
        setattr(so, name, value)
    so.register_custom_ops_library(str(library_path()))
    return so


def session(model, providers=None, **settings):
    """An InferenceSession over `model` (path or bytes) with the encexport op available."""
    import onnxruntime as ort

    providers = providers or ["CPUExecutionProvider"]
    model = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(model, sess_options=session_options(**settings), providers=providers)
