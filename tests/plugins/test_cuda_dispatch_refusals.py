"""Refusals of the CUDA dispatcher that happen before any CUDA call, so they run on a machine without a GPU:
the `cudnn` family in a build without the cuDNN headers (what CI builds) and `cudnn` with the packed layout.

The entry point is libencexport_testapi.so's C function (encexport/_testapi.py wraps it for torch CUDA
tensors; here it is called directly with placeholder pointers that the refusals never dereference)."""

from __future__ import annotations

import ctypes

import pytest
import torch

from encexport import _testapi
from required_libraries import library_missing


@pytest.fixture(scope="module")
def attention_fn():
    if not _testapi.available():
        library_missing("libencexport_testapi.so not built (needs nvcc)")
    return _testapi._load().encexport_test_attention


def _call(fn, *, layout: str, backend: str) -> tuple[int, str, str]:
    placeholder = ctypes.c_void_p(4096)  # aligned, non-null, never read on these paths
    used, err = ctypes.c_int(-1), ctypes.create_string_buffer(1024)
    rc = fn(placeholder, placeholder, placeholder, placeholder, placeholder, _testapi.DTYPES[torch.float16],
            _testapi.LAYOUTS[layout], _testapi.BACKENDS[backend], 2, 16 if layout == "padded" else 0, 32, 2, 2, 64,
            0.125, None, ctypes.byref(used), err, len(err))
    return rc, err.value.decode(), _testapi.BACKEND_NAMES.get(used.value, "none")


def test_cudnn_without_cudnn_headers_refuses_with_the_fix(attention_fn):
    rc, message, _ = _call(attention_fn, layout="padded", backend="cudnn")
    if rc == 0 or "built without cuDNN" not in message:
        pytest.skip("this library has the real cuDNN backend (it was built where cudnn.h is present)")
    assert "backend 'cudnn' is unavailable" in message and "'auto'" in message
    assert "nvidia-cudnn-cu13" in message or "CUDNN_INCLUDE_DIR" in message


def test_cudnn_with_packed_layout_is_refused_by_validation(attention_fn):
    rc, message, _ = _call(attention_fn, layout="packed", backend="cudnn")
    assert rc == 1 and "padded layout only" in message and "'auto' or 'flash'" in message


def _call_with_bias(*, layout: str, backend: str) -> tuple[int, str]:
    fn = _testapi._load().encexport_test_attention_bias
    placeholder = ctypes.c_void_p(4096)  # aligned, non-null, never read on these paths
    used, err = ctypes.c_int(-1), ctypes.create_string_buffer(1024)
    seq = 16 if layout == "padded" else 0
    rc = fn(placeholder, placeholder, placeholder, placeholder, placeholder, _testapi.DTYPES[torch.float16],
            _testapi.LAYOUTS[layout], _testapi.BACKENDS[backend], 2, seq, 32, 2, 2, 64, 0.125, placeholder, 0,
            16 * 16, 16, None, ctypes.byref(used), err, len(err))
    return rc, err.value.decode()


def test_cudnn_with_a_bias_is_refused_with_the_fix(attention_fn):
    rc, message = _call_with_bias(layout="padded", backend="cudnn")
    assert rc == 1 and "backend 'cudnn' does not support an attn_bias input" in message, message
    assert "'auto'" in message and "'flash'" in message


def test_a_bias_with_the_packed_layout_is_refused_by_validation(attention_fn):
    rc, message = _call_with_bias(layout="packed", backend="auto")
    assert rc == 1 and "packed layout, which takes no bias" in message and "'padded'" in message, message
