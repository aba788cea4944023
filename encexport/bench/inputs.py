"""Inputs for one shape in every form a peer wants, built once and shared (same data for everyone)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .shapes import Shape


@dataclass
class Inputs:
    shape: Shape
    q: torch.Tensor  # padded [B, S, H*D]
    k: torch.Tensor  # padded [B, S, Hkv*D]
    v: torch.Tensor
    seq_lens: torch.Tensor  # [B] int32
    q_packed: torch.Tensor  # [T, H*D]
    k_packed: torch.Tensor
    v_packed: torch.Tensor
    cu_seqlens: torch.Tensor  # [B+1] int32
    key_valid: torch.Tensor  # [B, S] bool

    @property
    def scale(self) -> float:
        return self.shape.head_size ** -0.5


def make_inputs(shape: Shape, dtype: torch.dtype, seed: int = 0) -> Inputs:
    g = torch.Generator(device="cuda").manual_seed(seed)
    B, S, H, Hkv, D = shape.batch, shape.seq, shape.heads, shape.kv_heads, shape.head_size

    def rand(width):
        return torch.randn(B, S, width, generator=g, device="cuda", dtype=torch.float32).to(dtype)

    q, k, v = rand(H * D), rand(Hkv * D), rand(Hkv * D)
    lengths = shape.valid_lengths()
    seq_lens = torch.tensor(lengths, dtype=torch.int32, device="cuda")
    key_valid = torch.arange(S, device="cuda")[None, :] < seq_lens[:, None]
    cu = torch.zeros(B + 1, dtype=torch.int32, device="cuda")
    cu[1:] = torch.cumsum(seq_lens, 0)
    return Inputs(shape, q, k, v, seq_lens, q[key_valid].contiguous(), k[key_valid].contiguous(),
                  v[key_valid].contiguous(), cu, key_valid)
