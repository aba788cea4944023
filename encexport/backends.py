"""Backend selection, modelled on vLLM.

`get_attn_backend(head_size, dtype, ...)` picks an underlying backend class from a registry of the kernel
families the runtimes offer (plus the PyTorch reference). `create_encoder_only_attention_backend(underlying)`
wraps it, cached, so that its metadata builder always produces `causal=False`; the wrapped class's name
(`EncoderOnlyAttention_<NAME>`) and its kernel family are what the exported node records.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, replace

import torch

from . import capabilities, contract


class AttentionType(str, enum.Enum):
    """Attention kinds as vLLM names them; this package implements only ENCODER_ONLY."""

    DECODER = "decoder"
    ENCODER = "encoder"
    ENCODER_ONLY = "encoder_only"
    ENCODER_DECODER = "encoder_decoder"


@dataclass(frozen=True)
class AttentionMetadata:
    """Per-call metadata. `causal` is always False for the encoder-only wrapper."""

    layout: str
    causal: bool
    seq_lens: torch.Tensor | None = None  # padded: [B] int32
    cu_seqlens: torch.Tensor | None = None  # packed: [B+1] int32


class AttentionMetadataBuilder:
    """Builds metadata from the lengths of a batch; subclasses may fix fields."""

    def build(self, *, layout: str, seq_lens=None, cu_seqlens=None, causal: bool = False) -> AttentionMetadata:
        return AttentionMetadata(layout=layout, causal=causal, seq_lens=seq_lens, cu_seqlens=cu_seqlens)


class AttentionBackend:
    """An underlying kernel family. `onnx_backend` is the value of the node's `backend` attribute.

    What a family runs is not stated here: the library that runs it answers (encexport.capabilities).
    """

    NAME = "BASE"
    onnx_backend = "auto"

    @classmethod
    def get_name(cls) -> str:
        return cls.NAME

    @classmethod
    def get_builder_cls(cls) -> type[AttentionMetadataBuilder]:
        return AttentionMetadataBuilder

    @classmethod
    def unsupported_reason(cls, head_size: int, dtype: torch.dtype) -> str | None:
        """Why this family cannot run a layer of this head size and dtype, else None.

        A family missing from this build or machine (no CUDA, no cuDNN) does not stop an export: the model may
        run elsewhere, and a runtime without the family refuses it at session creation with the fix.
        """
        name = str(dtype).replace("torch.", "")
        if name not in contract.DTYPES:
            return f"dtype {name} is not one of {', '.join(contract.DTYPES)}"
        if not 1 <= head_size <= contract.MAX_HEAD_SIZE:
            return f"head_size {head_size} is outside [1, {contract.MAX_HEAD_SIZE}]"
        if cls.onnx_backend == "auto":  # some family runs every valid layer (reference takes them all)
            return None
        answer = capabilities.supports(cls.onnx_backend, name, head_size)
        return answer.reason if answer.support == capabilities.Support.OUTSIDE else None


def _family(onnx_backend: str, doc: str) -> type[AttentionBackend]:
    """The backend class of one kernel family of the contract (NAME is the family's upper-case name)."""
    return type(f"{onnx_backend.title()}Backend", (AttentionBackend,),
                {"__doc__": doc, "NAME": onnx_backend.upper(), "onnx_backend": onnx_backend})


AutoBackend = _family("auto", "Let the runtime pick the fastest kernel per shape and device (the default).")
ReferenceBackend = _family("reference", "Exact math: plain loops on CPU, CUDA cores on GPU.")
FlashBackend = _family("flash", "Tensor-core online-softmax kernel (CUDA only).")
CudnnBackend = _family("cudnn", "cuDNN's fused attention (graph API), loaded at run time from the machine's cuDNN "
                                "(CUDA only, padded layout).")

HopperBackend = _family("hopper", "Hopper tensor-core kernel: wgmma + TMA, persistent, warp-specialised (CUDA "
                                  "only, H100/H200: sm_90).")

_REGISTRY: dict[str, type[AttentionBackend]] = {
    b.NAME: b for b in (AutoBackend, ReferenceBackend, FlashBackend, CudnnBackend, HopperBackend)
}
assert tuple(b.onnx_backend for b in _REGISTRY.values()) == contract.BACKENDS, "one class per contract backend"


def registered_backends() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_attn_backend(head_size: int, dtype: torch.dtype, kv_cache_dtype: str | None = None,
                     block_size: int | None = None, *, selected: str | None = None) -> type[AttentionBackend]:
    """Pick the underlying backend: `selected` (a registry name or ONNX backend string) if given, else AUTO.

    `kv_cache_dtype`/`block_size` come from vLLM's signature; an encoder-only layer keeps no cache, so they
    only take part in the choice as a dtype hint (a non-"auto" kv_cache_dtype is refused: there is no cache).
    """
    if kv_cache_dtype not in (None, "auto"):
        raise ValueError(f"kv_cache_dtype={kv_cache_dtype!r}: encoder-only attention keeps no KV cache; use 'auto'")
    name = (selected or "AUTO").upper()
    if name not in _REGISTRY:
        raise ValueError(f"unknown attention backend {selected!r}; registered: {', '.join(_REGISTRY)}")
    backend = _REGISTRY[name]
    reason = backend.unsupported_reason(head_size, dtype)
    if reason:
        raise ValueError(f"backend {name} cannot run this layer: {reason}")  # the reason names the fix
    return backend


@functools.lru_cache(maxsize=None)
def create_encoder_only_attention_backend(underlying: type[AttentionBackend]) -> type[AttentionBackend]:
    """Wrap `underlying` so that every metadata it builds is bidirectional (causal=False)."""
    base_builder = underlying.get_builder_cls()

    class EncoderOnlyMetadataBuilder(base_builder):  # type: ignore[misc, valid-type]
        def build(self, **kwargs) -> AttentionMetadata:
            if kwargs.get("causal"):
                raise ValueError("EncoderOnlyAttention is encoder-only (bidirectional): causal attention is not "
                                 "supported; use a decoder attention layer for causal masking")
            return replace(super().build(**kwargs), causal=False)

    name = f"EncoderOnlyAttention_{underlying.get_name()}"
    return type(name, (underlying,), {
        "NAME": name,
        "get_builder_cls": classmethod(lambda cls: EncoderOnlyMetadataBuilder),
        "underlying": underlying,
    })
