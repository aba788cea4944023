"""What each kernel family can run, asked of the library that runs it.

The answers come from the dispatcher's family table in libencexport_ort.so (`encexport_supports`,
`encexport_auto_backend`; plugins/include/encexport/capabilities.h), so they cannot disagree with what the
runtime does: the compiled flash head sizes are those plugins/kernels/generate.py instantiated, and the
reasons are the ones a forced node fails with and ENCEXPORT_LOG_DISPATCH prints.

`device=None` asks about this build only (a device that has what each family needs is assumed); a CUDA
device index adds that device's facts (compute capability, the cuDNN library).
"""

from __future__ import annotations

import ctypes
import enum
import functools
from dataclasses import dataclass

from . import contract, native


class Support(enum.IntEnum):
    """The query's answer (encexport::Support)."""

    RUNS = 1
    OUTSIDE = 0  # the parameters are outside the family: dtype, head size, layout, alignment
    UNAVAILABLE = -1  # the family is missing from this build or device: no CUDA, no cuDNN, an old GPU
    INVALID = -2  # the parameters are invalid for every family


@dataclass(frozen=True)
class Answer:
    support: Support
    reason: str  # why not, and the fix ("" when it runs)

    def __bool__(self) -> bool:
        return self.support == Support.RUNS


# The C enums' values are the positions in the contract's tuples (encexport::DType, Layout and Backend).
_DTYPE_CODES = {name: i for i, name in enumerate(contract.DTYPES)}
_LAYOUT_CODES = {name: i for i, name in enumerate(contract.LAYOUTS)}
_REASON_BYTES = 2048


def available() -> bool:
    return native.available("ort")


@functools.cache
def _library() -> ctypes.CDLL:
    try:
        lib = native.load("ort")
    except FileNotFoundError as e:
        raise RuntimeError(f"the kernel capability query needs libencexport_ort.so: {e}") from None
    ints = [ctypes.c_int] * 5
    lib.encexport_supports.restype = ctypes.c_int
    lib.encexport_supports.argtypes = [ctypes.c_char_p, *ints, ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                       ctypes.c_int]
    lib.encexport_auto_backend.restype = ctypes.c_int
    lib.encexport_auto_backend.argtypes = [*ints, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                           ctypes.c_int]
    return lib


def dtype_name(dtype) -> str:
    """'float16' for torch.float16 or 'float16'."""
    name = str(dtype).replace("torch.", "")
    if name not in _DTYPE_CODES:
        raise ValueError(f"dtype {name} is not one of {', '.join(contract.DTYPES)}")
    return name


def _codes(dtype, layout: str) -> tuple[int, int]:
    if layout not in _LAYOUT_CODES:
        raise ValueError(f"unknown layout {layout!r}; accepted: {', '.join(contract.LAYOUTS)}")
    return _DTYPE_CODES[dtype_name(dtype)], _LAYOUT_CODES[layout]


def supports(backend: str, dtype, head_size: int, *, num_heads: int = 1, num_kv_heads: int | None = None,
             layout: str = "padded", bias: bool = False, device: int | None = None) -> Answer:
    """Whether kernel family `backend` runs (dtype, head size, heads, layout, with an attn_bias input or not) on
    `device` (None: this build)."""
    dt, lay = _codes(dtype, layout)
    reason = ctypes.create_string_buffer(_REASON_BYTES)
    code = _library().encexport_supports(backend.encode(), dt, lay, num_heads,
                                         num_heads if num_kv_heads is None else num_kv_heads, head_size, int(bias),
                                         -1 if device is None else device, reason, len(reason))
    return Answer(Support(code), reason.value.decode())


def auto_backend(dtype, head_size: int, *, seq_len: int, num_heads: int = 1, num_kv_heads: int | None = None,
                 layout: str = "padded", bias: bool = False, device: int | None = None) -> tuple[str, str]:
    """(family, why): the family `auto` runs for these parameters and padded length (packed: mean length), and
    why each family before it in the dispatcher's table did not take them. ValueError for invalid parameters,
    RuntimeError when `device` cannot be queried."""
    dt, lay = _codes(dtype, layout)
    why = ctypes.create_string_buffer(_REASON_BYTES)
    code = _library().encexport_auto_backend(dt, lay, num_heads, num_heads if num_kv_heads is None else num_kv_heads,
                                             head_size, seq_len, int(bias), -1 if device is None else device, why,
                                             len(why))
    if code == Support.INVALID:
        raise ValueError(why.value.decode())
    if code < 0:  # the device could not be queried
        raise RuntimeError(why.value.decode())
    return contract.BACKENDS[code], why.value.decode()
