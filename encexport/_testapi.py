"""ctypes access to the CUDA kernels (libencexport_testapi.so) on torch CUDA tensors.

For tests and benchmarks only: it runs exactly the code path the ONNX Runtime and TensorRT adapters run
(validate() then run_attention_cuda()), on the current torch stream, with no runtime in between.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
import torch

from . import contract, native

# The C enums (encexport::DType, Layout, Backend) are the positions in the contract's tuples (contract.h asserts it).
DTYPES = {getattr(torch, name): i for i, name in enumerate(contract.DTYPES)}
LAYOUTS = {name: i for i, name in enumerate(contract.LAYOUTS)}
BACKENDS = {name: i for i, name in enumerate(contract.BACKENDS)}
BACKEND_NAMES = dict(enumerate(contract.BACKENDS))

def available() -> bool:
    return native.available("testapi")


def _load():
    lib = native.load("testapi")
    fn = lib.encexport_test_attention
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int] * 5 + [ctypes.c_longlong] + [ctypes.c_int] * 3 + [
        ctypes.c_float, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_int]
    return lib


@contextlib.contextmanager
def flash_tiling(row_blocks: int) -> Iterator[None]:
    """Within the block, `flash` runs 64-row (1) or 128-row (2) query tiles where compiled (benchmarks)."""
    fn = _load().encexport_test_force_flash_rows
    fn.argtypes = [ctypes.c_int]
    fn(row_blocks)
    try:
        yield
    finally:
        fn(0)


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, lengths: torch.Tensor | None = None, *,
              num_heads: int, num_kv_heads: int, head_size: int, scale: float, layout: str = "padded",
              backend: str = "auto", out: torch.Tensor | None = None) -> tuple[torch.Tensor, str]:
    """Run the CUDA attention kernels; returns (out, backend actually used).

    padded: q [B, S, H*D], k/v [B, S, Hkv*D], lengths = seq_lens [B] int32 or None.
    packed: q [T, H*D],    k/v [T, Hkv*D],    lengths = cu_seqlens [B+1] int32.
    Raises RuntimeError with the library's message on any error.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not (t.is_cuda and t.is_contiguous()):
            raise ValueError(f"{name} must be a contiguous CUDA tensor")
    if lengths is not None and (lengths.dtype != torch.int32 or not lengths.is_cuda):
        raise ValueError("lengths must be an int32 CUDA tensor")
    if layout == "padded":
        batch, seq_len = q.shape[0], q.shape[1]
        tokens = batch * seq_len
    else:
        if lengths is None:
            raise ValueError("the packed layout needs cu_seqlens")
        batch, seq_len, tokens = lengths.numel() - 1, 0, q.shape[0]
    if out is None:
        out = torch.empty_like(q)
    used = ctypes.c_int(-1)
    err = ctypes.create_string_buffer(1024)
    stream = torch.cuda.current_stream(q.device).cuda_stream
    rc = _load().encexport_test_attention(
        _ptr(q), _ptr(k), _ptr(v), _ptr(out), _ptr(lengths), DTYPES[q.dtype], LAYOUTS[layout], BACKENDS[backend],
        batch, seq_len, tokens, num_heads, num_kv_heads, head_size, float(scale), stream, ctypes.byref(used), err,
        len(err))
    if rc != 0:
        raise RuntimeError(err.value.decode())
    return out, BACKEND_NAMES.get(used.value, "unknown")
