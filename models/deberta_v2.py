"""DeBERTa-v2/v3 (`deberta-v2`): disentangled attention, computed as the node's bias.

DeBERTa's attention is its own code (no attention interface). Its scores are
    (q.k + c2p + p2c) / sqrt(D * f),   f = 1 + [c2p] + [p2c],
where the content-to-position and position-to-content terms read q (resp. k) against the relative position
embeddings. Both terms depend on q and k only through those separate products, so they are computed outside
the node by the model's own `disentangled_attention_bias` (already divided by sqrt(D * f)) and passed as
`attn_bias` [B, H, S, S]; the node adds it to q.k scaled by 1/sqrt(D * f). The patched module keeps its class's
weights and names (its class is swapped for a subclass whose forward calls the node). The bias spans padded
positions: no packed variant. The enhanced mask decoder's query_states (pre-training heads only) is refused.
"""

from __future__ import annotations

import math

from torch import nn

from encexport.layer import EncoderOnlyAttention

from .family import family_recipe
from .patching import LengthsSlot, UnsupportedModelError

CLASS_NAME = "DisentangledSelfAttention"
_patched_classes: dict[type, type] = {}


def _forward(self, hidden_states, attention_mask=None, output_attentions=False, query_states=None,
             relative_pos=None, rel_embeddings=None):
    if query_states is not None and query_states is not hidden_states:
        raise UnsupportedModelError("unsupported: DeBERTa's query_states (the enhanced mask decoder of its "
                                    "pre-training head) queries other states than the keys; export the encoder")
    q, k, v = self.query_proj(hidden_states), self.key_proj(hidden_states), self.value_proj(hidden_states)
    heads, factor = self.num_attention_heads, 1 + ("c2p" in self.pos_att_type) + ("p2c" in self.pos_att_type)
    bias = None
    if self.relative_attention:
        rel = self.disentangled_attention_bias(self.transpose_for_scores(q, heads), self.transpose_for_scores(k, heads),
                                               relative_pos, self.pos_dropout(rel_embeddings), factor)
        if not isinstance(rel, int):  # 0 when pos_att_type names no term
            bias = rel.view(-1, heads, rel.shape[-2], rel.shape[-1])
    out = self.encexport_attn(q, k, v, seq_lens=self.encexport_slot.value, attn_bias=bias)
    return out, None


def patch(model: nn.Module, *, backend: str | None = None, layout: str = "padded") -> LengthsSlot:
    if layout != "padded":
        raise UnsupportedModelError("DeBERTa's disentangled terms are the node's attn_bias, which is padded only: "
                                    "export padded")
    targets = [(n, m) for n, m in model.named_modules() if type(m).__name__ == CLASS_NAME]
    if not targets:
        raise ValueError(f"no attention module of type {CLASS_NAME} found in {type(model).__name__}")
    slot = LengthsSlot()
    slot.attention_modules = tuple(n for n, _ in targets)
    for _, module in targets:
        cls = type(module)
        if cls not in _patched_classes:
            _patched_classes[cls] = type(f"EncoderOnly{cls.__name__}", (cls,), {"forward": _forward})
        factor = 1 + ("c2p" in module.pos_att_type) + ("p2c" in module.pos_att_type)
        head_size = module.attention_head_size
        module.encexport_attn = EncoderOnlyAttention(module.num_attention_heads, head_size,
                                                     1.0 / math.sqrt(head_size * factor), backend=backend,
                                                     layout=layout, dtype=module.query_proj.weight.dtype)
        module.encexport_slot = slot
        module.__class__ = _patched_classes[cls]
    return slot


RECIPE = family_recipe(
    name="deberta-v2",
    classes="DebertaV2",
    config_fields=dict(relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=16,
                       max_relative_positions=-1, position_biased_input=False, type_vocab_size=0,
                       norm_rel_ebd="layer_norm", share_att_key=True),
    patch=patch,
    note="its attention is its own code; the disentangled c2p/p2c terms are computed outside the node as attn_bias",
    pooling={"mode": "mean", "normalize": False},
    first_position=None,
    input_names=("input_ids", "attention_mask"),  # DeBERTa-v3 has no token types (type_vocab_size 0)
    model_types=("deberta-v2",),
    description="DeBERTa-v2/v3 from its config (small random weights; or a local checkpoint folder): disentangled "
                "attention terms as the node's attn_bias, mean pooling",
)
load = RECIPE.load
