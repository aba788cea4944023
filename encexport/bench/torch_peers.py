"""PyTorch peers: SDPA with each fused backend (padded, key-padding mask when ragged) and varlen_attn (packed)."""

from __future__ import annotations

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


def torch_peers(inp: Inputs) -> dict[str, Callable[[], Callable[[], torch.Tensor]]]:
    """name -> builder; a builder raises when the peer cannot run the problem (reported, not fatal)."""
    peers = {name: (lambda b=b: sdpa_peer(inp, b)) for name, b in SDPA_BACKENDS.items()}
    peers["torch varlen_attn (packed)"] = lambda: varlen_peer(inp)
    return peers
