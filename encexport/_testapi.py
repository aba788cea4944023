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
    return bind(native.load("testapi"))


def bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declares the test entry points' signatures on lib: libencexport_testapi.so, or another build of the same
    entry points (the fault-injection library, tests/plugins/test_gpu_faults.py)."""
    fn = lib.encexport_test_attention
    fn.restype = ctypes.c_int
    head = [ctypes.c_void_p] * 5 + [ctypes.c_int] * 5 + [ctypes.c_longlong] + [ctypes.c_int] * 3 + [ctypes.c_float]
    tail = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_int]
    fn.argtypes = head + tail
    with_bias = lib.encexport_test_attention_bias
    with_bias.restype = ctypes.c_int
    with_bias.argtypes = head + [ctypes.c_void_p] + [ctypes.c_longlong] * 3 + tail
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
              backend: str = "auto", out: torch.Tensor | None = None,
              bias: torch.Tensor | None = None, library: ctypes.CDLL | None = None) -> tuple[torch.Tensor, str]:
    """Run the CUDA attention kernels; returns (out, backend actually used).

    padded: q [B, S, H*D], k/v [B, S, Hkv*D], lengths = seq_lens [B] int32 or None.
    packed: q [T, H*D],    k/v [T, Hkv*D],    lengths = cu_seqlens [B+1] int32.
    bias: an additive attn_bias [B or 1, H or 1, S, S] of q's dtype on the device, read through its strides (a
    dimension of size 1, or an expanded one, is broadcast: stride 0); its last dimension must be contiguous.
    library: a library bound by bind() to call instead of libencexport_testapi.so.
    Raises RuntimeError with the library's message on any error.
    """
    lib = library if library is not None else _load()
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
    args = (_ptr(q), _ptr(k), _ptr(v), _ptr(out), _ptr(lengths), DTYPES[q.dtype], LAYOUTS[layout], BACKENDS[backend],
            batch, seq_len, tokens, num_heads, num_kv_heads, head_size, float(scale))
    tail = (stream, ctypes.byref(used), err, len(err))
    if bias is None:
        rc = lib.encexport_test_attention(*args, *tail)
    else:
        if not bias.is_cuda or bias.dim() != 4 or bias.stride(3) != 1 or bias.dtype != q.dtype:
            raise ValueError("bias must be a 4-d CUDA tensor of q's dtype with a contiguous last dimension")
        if layout == "padded" and (bias.shape[0] not in (1, batch) or bias.shape[1] not in (1, num_heads)
                                   or tuple(bias.shape[2:]) != (seq_len, seq_len)):
            raise ValueError(f"bias shape {tuple(bias.shape)} is not [B or 1, H or 1, S, S] for B={batch}, "
                             f"H={num_heads}, S={seq_len}")
        strides = [0 if bias.shape[i] == 1 else bias.stride(i) for i in range(3)]
        rc = lib.encexport_test_attention_bias(*args, _ptr(bias), *strides, *tail)
    if rc != 0:
        raise RuntimeError(err.value.decode())
    return out, BACKEND_NAMES.get(used.value, "unknown")
