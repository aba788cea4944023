"""Kernel-level peers: torch SDPA with each fused backend (padded, key-padding mask when ragged), torch varlen_attn
(packed), and FlashAttention-4 (PyPI `flash-attn-4`, CuTe DSL) where it is installed: dense shapes through
flash_attn_func, ragged ones through flash_attn_varlen_func."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from .inputs import Inputs

SDPA_BACKENDS = {
    "torch sdpa flash": SDPBackend.FLASH_ATTENTION,
    "torch sdpa cudnn": SDPBackend.CUDNN_ATTENTION,
    "torch sdpa mem-efficient": SDPBackend.EFFICIENT_ATTENTION,
}


def _bhsd(x: torch.Tensor, heads: int, head_size: int) -> torch.Tensor:
    B, S, _ = x.shape
    return x.view(B, S, heads, head_size).transpose(1, 2)


def sdpa_peer(inp: Inputs, backend: SDPBackend) -> Callable[[], torch.Tensor]:
    s = inp.shape
    q, k, v = (_bhsd(inp.q, s.heads, s.head_size), _bhsd(inp.k, s.kv_heads, s.head_size),
               _bhsd(inp.v, s.kv_heads, s.head_size))
    mask = inp.key_valid[:, None, None, :] if s.ragged else None
    gqa = s.kv_heads != s.heads

    def run():
        with sdpa_kernel([backend]):
            out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=inp.scale,
                                                                   enable_gqa=gqa)
        return out.transpose(1, 2).reshape(inp.q.shape)

    run()  # raises here if the backend cannot take this problem
    return run


def varlen_peer(inp: Inputs) -> Callable[[], torch.Tensor]:
    from torch.nn.attention.varlen import varlen_attn

    s = inp.shape
    q = inp.q_packed.view(-1, s.heads, s.head_size)
    k = inp.k_packed.view(-1, s.kv_heads, s.head_size)
    v = inp.v_packed.view(-1, s.kv_heads, s.head_size)
    max_len = max(s.valid_lengths())
    kwargs = {"scale": inp.scale}
    if s.kv_heads != s.heads:
        kwargs["enable_gqa"] = True

    def run():
        return varlen_attn(q, k, v, inp.cu_seqlens, inp.cu_seqlens, max_len, max_len, **kwargs).reshape(
            inp.q_packed.shape)

    run()
    return run


def _first(result) -> torch.Tensor:
    return result[0] if isinstance(result, (tuple, list)) else result


def flash_attn_4_peer(inp: Inputs) -> Callable[[], torch.Tensor]:
    """FlashAttention-4 in its own layouts: (B, S, H, D) for dense batches, packed tokens with cu_seqlens for ragged
    ones (it has no key-padding mask). Its kernels compile on first use (CuTe DSL JIT), in the builder's warm-up."""
    from flash_attn.cute import flash_attn_func, flash_attn_varlen_func

    # Its JIT warns once per compiled kernel about an argument it treats as a compile-time constant.
    warnings.filterwarnings("ignore", message=r"Argument aux_data .* cannot be converted to a JitArgument")
    s = inp.shape
    if s.ragged:
        q = inp.q_packed.view(-1, s.heads, s.head_size)
        k = inp.k_packed.view(-1, s.kv_heads, s.head_size)
        v = inp.v_packed.view(-1, s.kv_heads, s.head_size)
        max_len = max(s.valid_lengths())

        def run():
            return _first(flash_attn_varlen_func(q, k, v, cu_seqlens_q=inp.cu_seqlens, cu_seqlens_k=inp.cu_seqlens,
                                                 max_seqlen_q=max_len, max_seqlen_k=max_len,
                                                 softmax_scale=inp.scale)).reshape(inp.q_packed.shape)
    else:
        B, S = inp.q.shape[:2]
        q = inp.q.view(B, S, s.heads, s.head_size)
        k = inp.k.view(B, S, s.kv_heads, s.head_size)
        v = inp.v.view(B, S, s.kv_heads, s.head_size)

        def run():
            return _first(flash_attn_func(q, k, v, softmax_scale=inp.scale)).reshape(inp.q.shape)

    run()
    return run


def torch_peers(inp: Inputs) -> dict[str, Callable[[], Callable[[], torch.Tensor]]]:
    """name -> builder; a builder raises when the peer cannot run the problem (reported, not fatal)."""
    peers = {name: (lambda b=b: sdpa_peer(inp, b)) for name, b in SDPA_BACKENDS.items()}
    peers["torch varlen_attn (packed)"] = lambda: varlen_peer(inp)
    if importlib.util.find_spec("flash_attn") is not None:  # optional: pip install flash-attn-4 (sm_90+)
        peers["flash-attn-4 (packed)" if inp.shape.ragged else "flash-attn-4 (padded)"] = lambda: flash_attn_4_peer(inp)
    return peers
