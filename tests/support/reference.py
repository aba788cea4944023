"""The one independent reference for every attention test, and the layout conversions the tests share.

`attention_reference` never masks: each sequence's valid tokens are sliced out and attended with torch's SDPA in
float64 on the CPU, and padding rows stay zero, so it shares no code path (and no masking trick) with what it
checks. An additive bias [B|1, H|1, S, S] is sliced the same way: its valid block [:L, :L] of each sequence is
SDPA's float mask, broadcast over the heads where its head dimension is 1. `sdpa_padded` is the same attention for the GPU grid's large shapes: PyTorch's SDPA in fp32 math mode on
the tensors' device, with a key-padding mask (rows past a sequence's length are zeros).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def _one_sequence(q, k, v, num_heads, num_kv_heads, head_size, scale, bias=None):
    L = q.shape[0]
    qh = q.double().reshape(L, num_heads, head_size).transpose(0, 1)
    kh = k.double().reshape(L, num_kv_heads, head_size).transpose(0, 1)
    vh = v.double().reshape(L, num_kv_heads, head_size).transpose(0, 1)
    group = num_heads // num_kv_heads
    kh, vh = kh.repeat_interleave(group, 0), vh.repeat_interleave(group, 0)
    mask = None if bias is None else bias.double()[None]  # [1, H|1, L, L], added to scale*q.k
    out = F.scaled_dot_product_attention(qh[None], kh[None], vh[None], attn_mask=mask, scale=scale)[0]
    return out.transpose(0, 1).reshape(L, num_heads * head_size)


def attention_reference(q, k, v, lengths, *, num_heads, num_kv_heads, head_size, scale, layout="padded", bias=None):
    """float64 result. padded: q [B,S,H*D], lengths [B] or None; packed: q [T,H*D], lengths = cu_seqlens.
    bias (padded only): [B or 1, H or 1, S, S], added to the scaled scores."""
    out = torch.zeros(q.shape, dtype=torch.float64)
    args = (num_heads, num_kv_heads, head_size, scale)
    if layout == "packed":
        assert bias is None, "the packed layout takes no bias"
        cu = [int(x) for x in lengths]
        for s, e in zip(cu[:-1], cu[1:]):
            if e > s:
                out[s:e] = _one_sequence(q[s:e].cpu(), k[s:e].cpu(), v[s:e].cpu(), *args)
        return out
    B, S, _ = q.shape
    for b in range(B):
        L = S if lengths is None else int(lengths[b])
        if L > 0:
            block = None if bias is None else bias[b if bias.shape[0] > 1 else 0, :, :L, :L].cpu()
            out[b, :L] = _one_sequence(q[b, :L].cpu(), k[b, :L].cpu(), v[b, :L].cpu(), *args, bias=block)
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


def cu_seqlens(lengths, device="cpu") -> torch.Tensor:
    """[B+1] int32 prefix sums of the lengths."""
    cu = [0]
    for L in lengths:
        cu.append(cu[-1] + int(L))
    return torch.tensor(cu, dtype=torch.int32, device=device)


def valid_rows(lens, s, device) -> torch.Tensor:
    """[B, S] bool: row i of sequence b holds a real token (i < lens[b], lens as cpu ints)."""
    return torch.arange(s, device=device)[None, :] < torch.as_tensor(lens, device=device)[:, None]


def sdpa_padded(q, k, v, lens, num_heads, num_kv_heads, head_size, scale, bias=None):
    """q [B,S,H*D], k/v [B,S,Hkv*D], lens [B] (cpu ints) -> fp32 [B,S,H*D]; rows >= len are 0.
    bias: [B or 1, H or 1, S, S] added to the scaled scores (keys >= len masked after it)."""
    b, s, _ = q.shape
    g = num_heads // num_kv_heads
    qh = q.float().view(b, s, num_heads, head_size).transpose(1, 2)
    kh = k.float().view(b, s, num_kv_heads, head_size).transpose(1, 2).repeat_interleave(g, dim=1)
    vh = v.float().view(b, s, num_kv_heads, head_size).transpose(1, 2).repeat_interleave(g, dim=1)
    valid = valid_rows(lens, s, q.device)
    mask = valid[:, None, None, :]
    if bias is not None:
        mask = bias.float().expand(b, num_heads, s, s).masked_fill(~mask, float("-inf"))
    with sdpa_kernel(SDPBackend.MATH):
        o = torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask, scale=scale)
    o = o.transpose(1, 2).reshape(b, s, num_heads * head_size)
    return torch.where(valid[:, :, None], o, torch.zeros((), device=q.device))  # len 0: NaN rows -> 0


def unpack(x, lens, s):
    """[T,W] -> [B,S,W] with zero padding."""
    out = x.new_zeros(len(lens), s, x.shape[-1])
    start = 0
    for b, n in enumerate(lens):
        out[b, :n] = x[start:start + n]
        start += n
    return out


# Bias broadcast forms of the node's attn_bias: (has the batch dim, has the head dim).
BIAS_FORMS = {"BHSS": (True, True), "1HSS": (False, True), "B1SS": (True, False), "11SS": (False, False)}


def bias_inputs(seed: int, b: int, s: int, h: int, kv: int, d: int, dtype, device, form: str):
    """Seeded padded q, k, v and an attn_bias of the given broadcast form (scale 3: large enough to matter)."""
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(b, s, n * d, generator=gen).to(device, dtype) for n in (h, kv, kv))
    per_batch, per_head = BIAS_FORMS[form]
    bias = (3 * torch.randn(b if per_batch else 1, h if per_head else 1, s, s, generator=gen)).to(device, dtype)
    return q, k, v, bias
