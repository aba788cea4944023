"""The independent reference for the GPU tests: PyTorch SDPA in fp32 math mode with a key-padding mask,
plus the conversions between the packed and padded layouts."""

from __future__ import annotations

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel


def valid_rows(lens, s, device) -> torch.Tensor:
    """[B, S] bool: row i of sequence b holds a real token (i < lens[b], lens as cpu ints)."""
    return torch.arange(s, device=device)[None, :] < torch.as_tensor(lens, device=device)[:, None]


def sdpa_padded(q, k, v, lens, num_heads, num_kv_heads, head_size, scale):
    """q [B,S,H*D], k/v [B,S,Hkv*D], lens [B] (cpu ints) -> fp32 [B,S,H*D]; rows >= len are 0."""
    b, s, _ = q.shape
    g = num_heads // num_kv_heads
    qh = q.float().view(b, s, num_heads, head_size).transpose(1, 2)
    kh = k.float().view(b, s, num_kv_heads, head_size).transpose(1, 2).repeat_interleave(g, dim=1)
    vh = v.float().view(b, s, num_kv_heads, head_size).transpose(1, 2).repeat_interleave(g, dim=1)
    valid = valid_rows(lens, s, q.device)
    mask = valid[:, None, None, :]
    with sdpa_kernel(SDPBackend.MATH):
        o = torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask, scale=scale)
    o = o.transpose(1, 2).reshape(b, s, num_heads * head_size)
    return torch.where(valid[:, :, None], o, torch.zeros((), device=q.device))  # len 0: NaN rows -> 0


def pack(x, lens):
    """[B,S,W] -> [T,W] keeping the first lens[b] rows of each sequence."""
    return torch.cat([x[b, :n] for b, n in enumerate(lens)], dim=0)


def unpack(x, lens, s):
    """[T,W] -> [B,S,W] with zero padding."""
    out = x.new_zeros(len(lens), s, x.shape[-1])
    start = 0
    for b, n in enumerate(lens):
        out[b, :n] = x[start:start + n]
        start += n
    return out


def cu_seqlens(lens, device):
    cu = [0]
    for n in lens:
        cu.append(cu[-1] + n)
    return torch.tensor(cu, dtype=torch.int32, device=device)
