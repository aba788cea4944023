"""The generic path: any transformers model whose self-attention calls transformers' attention interface.

Transformers 5 encoders (BERT-style, ViT, CLIP, Whisper, T5, BEiT, ModernBERT, ...) compute q, k, v in their own
module and hand them to `ALL_ATTENTION_FUNCTIONS[config._attn_implementation]`. Registering the implementation
"encexport" there (and its mask builder in `ALL_MASK_ATTENTION_FUNCTIONS`) and selecting it with
`set_attn_implementation` routes every such call to EncoderOnlyAttention, with no module replaced and no family
code: rotary embeddings, scalings and output projections stay the model's own.

What reaches the node:

- the attention mask becomes per-sequence lengths. The mask builder checks the structure the model asks for
  (the mask function of `create_bidirectional_mask` / `create_causal_mask` / the sliding-window builders) on a
  grid of positions; anything but "every query sees every key" (causal, sliding windows narrower than the
  model's positions, masks that depend on the inputs, key/value caches) is refused, naming the layer and the
  reason. A 2-D padding mask must be right-padded: its row sums are the lengths.
- an additive float mask that the builder did not make (a relative position bias added to the mask, BEiT) and
  the `position_bias` argument (T5) become the node's `attn_bias` input; nothing is dropped.
- the export wrappers give the model no mask and fill the lengths slot instead (as for rule-patched models);
  the packed layout reads its cu_seqlens from the same slot.

Structure checks need real tensors, so `patch_generic` runs the model once on small example inputs before it
returns: a refused model is refused at patch time, before anything is exported, and left as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from encexport.layer import EncoderOnlyAttention

from .patching import LengthsSlot, UnsupportedModelError

IMPLEMENTATION = "encexport"
# Keyword arguments the interface passes that carry an additive bias (T5's relative position bias).
BIAS_ARGUMENTS = ("position_bias",)
# Keyword arguments that only steer other implementations (flash kernels, returned weights); the mask decides.
IGNORED_ARGUMENTS = {"output_attentions", "sliding_window", "deterministic", "softcap", "position_ids",
                     "use_cache", "cache_position", "head_mask", "layer_head_mask", "return_dict", "s_aux"}
# Largest position grid the structure check evaluates row by row (rows and columns at the ends and middle).
_PROBE_MAX = 8192
_PROBE_GRID = 64


@dataclass
class _Settings:
    """One patched model: the layout, the kernel family, the lengths slot and its attention layers."""

    backend: str | None
    layout: str
    slot: LengthsSlot
    ran: list[str] = field(default_factory=list)  # attention modules seen calling the interface, in order
    layers: dict = field(default_factory=dict)

    def layer(self, num_heads, num_kv_heads, head_size, scale, dtype, layout) -> EncoderOnlyAttention:
        key = (num_heads, num_kv_heads, head_size, scale, dtype, layout)
        if key not in self.layers:
            self.layers[key] = EncoderOnlyAttention(num_heads, head_size, scale, num_kv_heads=num_kv_heads,
                                                    backend=self.backend, layout=layout, dtype=dtype)
        return self.layers[key]


@dataclass
class _Site:
    name: str
    settings: _Settings


def _refuse(site: _Site, module: nn.Module, reason: str) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"unsupported: {reason} in layer {site.name or '<model>'} ({type(module).__name__}); the encexport node "
        "implements full bidirectional attention over right-padded sequences")


def _tracing() -> bool:
    return (torch.onnx.is_in_onnx_export() or torch.jit.is_tracing() or torch.compiler.is_compiling()
            or torch.compiler.is_exporting())


# ---------------------------------------------------------------------------------------------------------
# Mask structure.
def _positions(config, q_length, kv_length) -> int:
    """How far the structure check looks: every position the model accepts (capped), at least this call's."""
    n = max(int(q_length), int(kv_length))
    for name in ("max_position_embeddings", "max_source_positions", "n_positions"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            n = max(n, value)
            break
    return min(n, _PROBE_MAX)


def structure_refusal(mask_function: Callable, n: int) -> str | None:
    """Why `mask_function` (q_idx, kv_idx -> allowed; padding not included) is not full attention over n
    positions, or None when it is. Rows and columns at both ends and the middle, and a dense corner grid."""
    ends = sorted({0, 1, n // 2, n - 2, n - 1} & set(range(n)))
    corner = torch.arange(min(n, _PROBE_GRID))
    everything = torch.arange(n)
    zero = torch.zeros((), dtype=torch.long)
    try:
        checks = [(torch.tensor(ends), everything), (everything, torch.tensor(ends)), (corner, corner)]
        seen = [mask_function(zero, zero, q[:, None], kv[None, :]).expand(len(q), len(kv)).bool()
                for q, kv in checks]
    except Exception as exc:  # closures over the inputs (packed sequences, token types, image blocks)
        return f"a mask that depends on the inputs ({type(exc).__name__}: {exc})"
    if all(bool(s.all()) for s in seen):
        return None
    first_row = seen[0][0]
    if not bool(first_row[1:].any()):
        return "causal attention (each token sees only the tokens before it)"
    if not bool(first_row.all()):
        window = int(first_row.long().sum()) - 1
        return f"sliding-window attention (a token sees keys up to {window} positions away, of {n})"
    return "a structured attention mask (some query does not see every key)"


def encexport_mask(batch_size: int, q_length: int, kv_length: int, q_offset=0, kv_offset=0,
                   mask_function: Callable | None = None, attention_mask: torch.Tensor | None = None,
                   dtype: torch.dtype = torch.float32, config=None, **kwargs):
    """The mask builder registered for "encexport": None (no padding), or an additive [B, 1, 1, S] float mask
    carrying its lengths; a refused structure gives the eager mask (correct for any reader) carrying the reason."""
    reason = None
    if not _tracing():
        if (isinstance(q_offset, int) and q_offset) or (isinstance(kv_offset, int) and kv_offset):
            reason = "a key/value cache (queries offset from the keys)"
        elif mask_function is not None:
            reason = structure_refusal(mask_function, _positions(config, q_length, kv_length))
    if reason is not None:
        from transformers.masking_utils import eager_mask

        mask = eager_mask(batch_size=batch_size, q_length=q_length, kv_length=kv_length, q_offset=q_offset,
                          kv_offset=kv_offset, mask_function=mask_function, attention_mask=attention_mask,
                          dtype=dtype, **kwargs)
        if mask is None:
            mask = torch.zeros(batch_size, 1, q_length, kv_length, dtype=dtype)
        mask._encexport_refusal = reason
        return mask
    if attention_mask is None:
        return None
    padding = attention_mask[:, kv_offset:kv_offset + kv_length].bool()
    lengths = padding.sum(-1, dtype=torch.int32)
    if not _tracing():
        right = torch.arange(padding.shape[-1], device=padding.device)[None, :] < lengths[:, None]
        if not bool((right == padding).all()):
            rows = [i for i in range(padding.shape[0]) if not bool((right[i] == padding[i]).all())]
            raise ValueError(f"attention_mask rows {rows} are not right-padded (ones, then zeros): the encexport node "
                             "takes per-sequence lengths; pad on the right (tokenizer padding_side='right')")
    additive = torch.zeros((), dtype=dtype, device=padding.device).masked_fill(~padding, torch.finfo(dtype).min)
    additive = additive[:, None, None, :]
    additive._encexport_lengths = lengths
    return additive


# ---------------------------------------------------------------------------------------------------------
# The attention function.
def encexport_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                        **kwargs):
    """query [B, H, S, D], key/value [B, Hkv, S, D] -> ([B, S, H, D], None), through EncoderOnlyAttention."""
    site: _Site | None = getattr(module, "_encexport_site", None)
    if site is None:
        raise UnsupportedModelError(
            f"{type(module).__name__} calls the '{IMPLEMENTATION}' attention implementation but its model was not "
            "patched by encexport (encexport.models: get_recipe(...).patch(model))")
    settings = site.settings
    if getattr(module, "is_causal", False) or kwargs.get("is_causal"):
        raise _refuse(site, module, "causal attention (the layer is marked is_causal: each token sees only the tokens "
                                    "before it)")
    if module.training and dropout:
        raise _refuse(site, module, f"attention dropout {dropout} in training mode (call model.eval())")
    reason = getattr(attention_mask, "_encexport_refusal", None)
    if reason is not None:
        raise _refuse(site, module, reason)
    batch, heads, seq, head_size = query.shape
    kv_heads = key.shape[1]
    if key.shape[2] != seq:
        raise _refuse(site, module, f"keys of another length than the queries ({key.shape[2]} vs {seq}: "
                                    "cross-attention or a cache)")
    layout = settings.layout
    lengths, bias = settings.slot.value, None
    if attention_mask is not None:
        if hasattr(attention_mask, "_encexport_lengths"):
            lengths, layout = attention_mask._encexport_lengths, "padded"
        elif not attention_mask.is_floating_point():
            raise _refuse(site, module, f"a {attention_mask.dtype} attention mask made outside encexport's mask "
                                        "builder (its structure cannot be checked)")
        else:
            bias = attention_mask  # additive: a position bias (with or without padding in it)
    for name in BIAS_ARGUMENTS:
        extra = kwargs.pop(name, None)
        if extra is not None:
            bias = extra if bias is None else bias + extra
    unknown = sorted(k for k, v in kwargs.items() if isinstance(v, torch.Tensor) and k not in IGNORED_ARGUMENTS)
    if unknown:
        raise _refuse(site, module, f"attention arguments encexport does not know ({', '.join(unknown)}): they "
                                    "would be dropped")
    scale = float(head_size ** -0.5 if scaling is None else scaling)
    if not math.isfinite(scale):
        raise _refuse(site, module, f"a non-finite scaling {scale}")
    if site.name not in settings.ran:
        settings.ran.append(site.name)
    layer = settings.layer(heads, kv_heads, head_size, scale, query.dtype, layout)
    if layout == "packed":
        if bias is not None:
            raise _refuse(site, module, "an attention bias in the packed layout (the bias input is padded only): "
                                        "export padded")
        q, k, v = (t[0].transpose(0, 1).flatten(1) for t in (query, key, value))  # [T, heads*D]
        out = layer(q, k, v, cu_seqlens=lengths)
        return out.unflatten(-1, (heads, head_size))[None], None
    if bias is not None:
        if bias.dim() != 4:
            raise _refuse(site, module, f"an attention bias of shape {tuple(bias.shape)} (expected 4-D)")
        if bias.shape[2] == 1:  # a per-key bias: the node's bias spells the query axis out
            bias = bias.expand(-1, -1, seq, -1)
    q, k, v = (t.transpose(1, 2).flatten(2) for t in (query, key, value))  # [B, S, heads*D]
    out = layer(q, k, v, seq_lens=lengths, attn_bias=bias)
    return out.unflatten(-1, (heads, head_size)), None


def register() -> None:
    """Make "encexport" a transformers attention implementation (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(IMPLEMENTATION, encexport_attention)
    AttentionMaskInterface.register(IMPLEMENTATION, encexport_mask)


def uses_attention_interface(model: nn.Module) -> bool:
    can = getattr(model, "_can_set_attn_implementation", None)
    return bool(can and can())


def patch_generic(model: nn.Module, *, backend: str | None = None, layout: str = "padded",
                  dry_run: Callable[[nn.Module], object] | None = None) -> LengthsSlot:
    """Route `model`'s attention interface to EncoderOnlyAttention; returns the lengths slot.

    dry_run(model) runs the model once on small padded inputs: the mask structure is checked there (it cannot be
    while exporting), and a refusal leaves the model as it was."""
    if not uses_attention_interface(model):
        raise UnsupportedModelError(
            f"{type(model).__name__} keeps its own attention code (it does not call transformers' attention "
            "interface): it needs an attention rule in models/<family>.py")
    register()
    settings = _Settings(backend=backend, layout="padded", slot=LengthsSlot())
    stamped = []
    for name, module in model.named_modules():
        if hasattr(module, "config"):
            module._encexport_site = _Site(name, settings)
            stamped.append(module)
    previous = model.config._attn_implementation
    try:
        model.set_attn_implementation(IMPLEMENTATION)
        if dry_run is not None:
            with torch.no_grad():
                dry_run(model)
            if not settings.ran:
                raise UnsupportedModelError(
                    f"no self-attention of {type(model).__name__} went through transformers' attention interface: "
                    "it needs an attention rule in models/<family>.py")
    except Exception:
        model.set_attn_implementation(previous)
        for module in stamped:
            del module._encexport_site
        raise
    settings.layout = layout
    settings.slot.attention_modules = tuple(settings.ran)
    return settings.slot
