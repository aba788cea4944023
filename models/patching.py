"""Swap a Hugging Face encoder's self-attention for EncoderOnlyAttention, keeping every weight.

The patched module reuses the original q/k/v projections (same Parameter objects) and feeds their outputs,
laid out [B, S, H*D] as they come out of the Linear layers, straight into the attention node: no transposes
around it. The per-sequence lengths come from the model wrapper through a shared LengthsSlot.
"""

from __future__ import annotations

import torch
from torch import nn

from encexport import EncoderOnlyAttention


class LengthsSlot:
    """Holds the current batch's lengths (seq_lens or cu_seqlens) for every patched layer of one model."""

    def __init__(self):
        self.value: torch.Tensor | None = None


class PatchedSelfAttention(nn.Module):
    """Drop-in for a BERT-style self-attention module (query/key/value Linear layers)."""

    def __init__(self, original: nn.Module, num_heads: int, slot: LengthsSlot, *, q="query", k="key", v="value",
                 backend: str | None = None, layout: str = "padded"):
        super().__init__()
        self.query, self.key, self.value = getattr(original, q), getattr(original, k), getattr(original, v)
        hidden = self.query.out_features
        head_size = hidden // num_heads
        self.attn = EncoderOnlyAttention(num_heads, head_size, getattr(original, "scaling", head_size ** -0.5),
                                         backend=backend, layout=layout, dtype=self.query.weight.dtype)
        self.slot = slot

    def forward(self, hidden_states, *args, **kwargs):
        q, k, v = self.query(hidden_states), self.key(hidden_states), self.value(hidden_states)
        if self.attn.layout == "packed":
            out = self.attn(q, k, v, cu_seqlens=self.slot.value)
        else:
            out = self.attn(q, k, v, seq_lens=self.slot.value)
        return out, None


def patch_modules(model: nn.Module, cls_names: tuple[str, ...], num_heads: int, **kwargs) -> LengthsSlot:
    """Replace every submodule whose class name is in cls_names; returns the slot the wrapper fills."""
    slot = LengthsSlot()
    targets = [(name, mod) for name, mod in model.named_modules() if type(mod).__name__ in cls_names]
    if not targets:
        raise ValueError(f"no attention module of type {cls_names} found in {type(model).__name__}")
    for name, mod in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, PatchedSelfAttention(mod, num_heads, slot, **kwargs))
    return slot
