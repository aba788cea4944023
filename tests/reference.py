"""The one independent reference for every attention test.

It never masks: each sequence's valid tokens are sliced out and attended with torch's SDPA in float64, and
padding rows stay zero. So it shares no code path (and no masking trick) with what it checks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _one_sequence(q, k, v, num_heads, num_kv_heads, head_size, scale):
    L = q.shape[0]
    qh = q.double().reshape(L, num_heads, head_size).transpose(0, 1)
    kh = k.double().reshape(L, num_kv_heads, head_size).transpose(0, 1)
    vh = v.double().reshape(L, num_kv_heads, head_size).transpose(0, 1)
    group = num_heads // num_kv_heads
    kh, vh = kh.repeat_interleave(group, 0), vh.repeat_interleave(group, 0)
    out = F.scaled_dot_product_attention(qh[None], kh[None], vh[None], scale=scale)[0]
    return out.transpose(0, 1).reshape(L, num_heads * head_size)


def attention_reference(q, k, v, lengths, *, num_heads, num_kv_heads, head_size, scale, layout="padded"):
    """float64 result. padded: q [B,S,H*D], lengths [B] or None; packed: q [T,H*D], lengths = cu_seqlens."""
    out = torch.zeros(q.shape, dtype=torch.float64)
    args = (num_heads, num_kv_heads, head_size, scale)
    if layout == "packed":
        cu = [int(x) for x in lengths]
        for s, e in zip(cu[:-1], cu[1:]):
            if e > s:
                out[s:e] = _one_sequence(q[s:e].cpu(), k[s:e].cpu(), v[s:e].cpu(), *args)
        return out
    B, S, _ = q.shape
    for b in range(B):
        L = S if lengths is None else int(lengths[b])
        if L > 0:
            out[b, :L] = _one_sequence(q[b, :L].cpu(), k[b, :L].cpu(), v[b, :L].cpu(), *args)
    return out


def random_qkv(batch_or_tokens_shape, num_heads, num_kv_heads, head_size, dtype=torch.float32, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*batch_or_tokens_shape, num_heads * head_size, generator=g)
    k = torch.randn(*batch_or_tokens_shape, num_kv_heads * head_size, generator=g)
    v = torch.randn(*batch_or_tokens_shape, num_kv_heads * head_size, generator=g)
    return tuple(t.to(dtype=dtype, device=device) for t in (q, k, v))


def pack(x: torch.Tensor, lengths) -> torch.Tensor:
    """[B, S, W] padded -> [T, W] packed (valid tokens only)."""
    return torch.cat([x[b, : int(L)] for b, L in enumerate(lengths)], dim=0)


def cu_seqlens(lengths) -> torch.Tensor:
    cu = [0]
    for L in lengths:
        cu.append(cu[-1] + int(L))
    return torch.tensor(cu, dtype=torch.int32)
