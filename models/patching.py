"""Swap a Hugging Face encoder's self-attention for EncoderOnlyAttention, keeping every weight.

The patched module reuses the original projections (same Parameter objects, kept under their original
attribute names so the state dict is unchanged) and feeds their outputs, laid out [B, S, H*D] as they come
out of the Linear layers, straight into the attention node: no transposes around it. The per-sequence
lengths come from the model wrapper through a shared LengthsSlot.

What differs between families is described by an `AttentionRule`: the projection names, a fused q/k/v
projection, an output projection living inside the attention module, rotary embeddings, an additive bias the
module receives (MPNet's relative position bias, written as the node's attn_bias input), and a check that
refuses layers the node cannot express (sliding windows).

Rules are for families whose attention does not go through transformers' attention interface (MPNet) and for
the BERT-layout fast path (one q/k/v GEMM, no transposes around the node); every other family goes through
the interface (interface.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from encexport.layer import EncoderOnlyAttention


class UnsupportedModelError(ValueError):
    """The model has an attention variant the encexport node does not implement."""


class LengthsSlot:
    """Holds the current batch's lengths (seq_lens or cu_seqlens) for every patched layer of one model.

    None means every token is valid (image encoders): the node then runs without its lengths input.
    """

    def __init__(self):
        self.value: torch.Tensor | None = None
        # Qualified names of the modules whose attention runs through the node (the per-layer check hooks them).
        self.attention_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttentionRule:
    """Where one Hugging Face attention class keeps its projections and what its forward must return."""

    cls_name: str
    q: str = "query"
    k: str = "key"
    v: str = "value"
    qkv: str | None = None  # one fused Linear producing [q | k | v] along the last dim (ModernBERT's Wqkv)
    out: str | None = None  # output projection applied inside the attention module (DistilBERT, ViT, ModernBERT)
    rotary: bool = False  # q/k get the (cos, sin) the layer passes as `position_embeddings`
    check: Callable[[nn.Module, nn.Module], None] | None = None  # (model, module) -> raise if unsupported
    # (argument name, position among the arguments after hidden_states) of an additive bias [B|1, H, S, S]
    bias: tuple[str, int] | None = None

    def projection_names(self) -> tuple[str, ...]:
        names = (self.qkv,) if self.qkv else (self.q, self.k, self.v)
        return names + ((self.out,) if self.out else ())


class PatchedSelfAttention(nn.Module):
    """Drop-in for a Hugging Face self-attention module; returns (output, None) like theirs."""

    def __init__(self, original: nn.Module, num_heads: int, slot: LengthsSlot, *, q="query", k="key", v="value",
                 qkv: str | None = None, out: str | None = None, rotary: bool = False,
                 bias: tuple[str, int] | None = None, backend: str | None = None, layout: str = "padded"):
        super().__init__()
        self.rule = AttentionRule(type(original).__name__, q=q, k=k, v=v, qkv=qkv, out=out, rotary=rotary, bias=bias)
        if bias is not None and layout != "padded":
            raise UnsupportedModelError(f"{type(original).__name__} adds a bias to its attention scores: the node's "
                                        "attn_bias input is padded only; export padded")
        for name in self.rule.projection_names():
            setattr(self, name, getattr(original, name))
        first = getattr(original, qkv or q)
        hidden = first.out_features // (3 if qkv else 1)
        head_size = hidden // num_heads
        if rotary:
            # The family's own rotary function (public module-level API of its modeling file), so the rotation
            # convention (rotate-half, fp32 math) is exactly the one the weights were trained with.
            self._apply_rotary = sys.modules[type(original).__module__].apply_rotary_pos_emb
        self.num_heads, self.head_size = num_heads, head_size
        self.attn = EncoderOnlyAttention(num_heads, head_size, getattr(original, "scaling", head_size ** -0.5),
                                         backend=backend, layout=layout, dtype=first.weight.dtype)
        self.slot = slot

    def _project(self, hidden_states):
        if self.rule.qkv:
            return getattr(self, self.rule.qkv)(hidden_states).chunk(3, dim=-1)
        q, k, v = (getattr(self, n) for n in (self.rule.q, self.rule.k, self.rule.v))
        if all(p.bias is not None for p in (q, k, v)):
            # One GEMM instead of three: the exported graph gets a single MatMul over the concatenated
            # (constant-folded) weights and a Split, as fused attention ops do. The Parameters stay the originals.
            weight = torch.cat([q.weight, k.weight, v.weight])
            bias = torch.cat([q.bias, k.bias, v.bias])
            sizes = [q.out_features, k.out_features, v.out_features]
            return torch.nn.functional.linear(hidden_states, weight, bias).split(sizes, dim=-1)
        return q(hidden_states), k(hidden_states), v(hidden_states)

    def _rotate(self, q, k, cos, sin):
        # [..., H*D] viewed as [..., H, D]: cos/sin [B, S, D] broadcast over heads at dim 2, no transpose.
        heads = (self.num_heads, self.head_size)
        q, k = self._apply_rotary(q.unflatten(-1, heads), k.unflatten(-1, heads), cos, sin, unsqueeze_dim=2)
        return q.flatten(-2), k.flatten(-2)

    def forward(self, hidden_states, *args, **kwargs):
        q, k, v = self._project(hidden_states)
        if self.rule.rotary:
            cos, sin = kwargs.get("position_embeddings") or args[0]
            q, k = self._rotate(q, k, cos, sin)
        bias = None
        if self.rule.bias is not None:
            name, position = self.rule.bias
            bias = kwargs[name] if name in kwargs else (args[position] if len(args) > position else None)
        if self.attn.layout == "packed":
            # The packed wrapper runs the model on one row of tokens [1, T, ...]; the node takes [T, H*D].
            row = q.dim() == 3
            if row:
                q, k, v = q[0], k[0], v[0]
            out = self.attn(q, k, v, cu_seqlens=self.slot.value)
            out = out[None] if row else out
        else:
            out = self.attn(q, k, v, seq_lens=self.slot.value, attn_bias=bias)
        if self.rule.out:
            out = getattr(self, self.rule.out)(out)
        return out, None


def patch_attention(model: nn.Module, rules: tuple[AttentionRule, ...], num_heads: int, *,
                    backend: str | None = None, layout: str = "padded") -> LengthsSlot:
    """Replace every submodule matching a rule; returns the slot the wrapper fills.

    All checks run before anything is replaced, so a refused model is left untouched.
    """
    by_cls = {r.cls_name: r for r in rules}
    targets = [(name, mod) for name, mod in model.named_modules() if type(mod).__name__ in by_cls]
    if not targets:
        raise ValueError(f"no attention module of type {tuple(by_cls)} found in {type(model).__name__}")
    for _, mod in targets:
        rule = by_cls[type(mod).__name__]
        if rule.check is not None:
            rule.check(model, mod)
    slot = LengthsSlot()
    slot.attention_modules = tuple(name for name, _ in targets)
    for name, mod in targets:
        rule = by_cls[type(mod).__name__]
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, PatchedSelfAttention(mod, num_heads, slot, q=rule.q, k=rule.k, v=rule.v,
                                                    qkv=rule.qkv, out=rule.out, rotary=rule.rotary,
                                                    bias=rule.bias, backend=backend, layout=layout))
    return slot


def patch_modules(model: nn.Module, cls_names: tuple[str, ...], num_heads: int, **kwargs) -> LengthsSlot:
    """BERT-style modules (query/key/value, output projection outside): the common case by class name."""
    return patch_attention(model, tuple(AttentionRule(c) for c in cls_names), num_heads, **kwargs)
