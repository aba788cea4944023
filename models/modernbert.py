"""ModernBERT (`modernbert`): fused Wqkv, rotary embeddings, alternating local (sliding-window) and global layers.

Rotary is applied in the patched module: q and k come out of Wqkv as [B, S, H*D], are viewed per head and
rotated with the model's own `apply_rotary_pos_emb` and the (cos, sin) each layer receives, then go into the
node in its [B, S, H*D] layout. Global layers are full bidirectional attention and export as they are.

A sliding-window (local) layer is exported only when its window covers every position the model accepts
(half-window >= max_position_embeddings - 1): the band mask then never removes a key, so full attention is the
same function. Any narrower window is refused before anything is patched; the node has no window.
"""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL
from .patching import AttentionRule, UnsupportedModelError

POOLING = {"mode": "mean", "normalize": False}


def window_covers_all_positions(config) -> bool:
    # HF's bidirectional band keeps keys with |i - j| <= config.sliding_window (half of local_attention).
    return config.sliding_window >= config.max_position_embeddings - 1


def refuse_narrow_windows(model, module) -> None:
    config = model.config
    if config.layer_types[module.layer_idx] == "sliding_attention" and not window_covers_all_positions(config):
        raise UnsupportedModelError(
            f"unsupported: sliding-window attention (layer {module.layer_idx}, window {config.local_attention}); "
            "the encexport node implements full bidirectional attention. Only ModernBERT configs whose layers "
            "are all global (layer_types all 'full_attention', e.g. global_attn_every_n_layers=1) or whose "
            f"local window covers max_position_embeddings ({config.max_position_embeddings}) can be exported")


RULES = (AttentionRule("ModernBertAttention", qkv="Wqkv", out="Wo", rotary=True, check=refuse_narrow_windows),)


RECIPE = family_recipe(
    name="modernbert",
    model_class="ModernBertModel",
    config_class="ModernBertConfig",
    # Global attention only; load(layer_types=..., local_attention=...) builds alternating variants.
    config_fields=dict(pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2,
                       layer_types=["full_attention"] * SMALL["num_hidden_layers"]),
    rules=RULES,
    pooling=POOLING,
    input_names=("input_ids", "attention_mask"),
    description="ModernBERT from its config (small random weights, global attention only; or a local checkpoint "
                "folder): rotary in the patched module; narrow sliding-window layers are refused",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
