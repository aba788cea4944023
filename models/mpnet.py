"""MPNet (`mpnet`): its attention is its own code (no attention interface), so it has a rule.

MPNetSelfAttention holds q/k/v and applies its output projection `o` itself, and adds the relative position bias
[B, H, S, S] the encoder computes once (`position_bias`, the second argument after hidden_states) to its
scores: the rule passes it to the node's attn_bias input. Without it the export is a different model (the
per-layer check catches that). The bias spans padded positions: no packed variant.
"""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL
from .patching import AttentionRule

RULE = AttentionRule("MPNetSelfAttention", q="q", k="k", v="v", out="o", bias=("position_bias", 1))

RECIPE = family_recipe(
    name="mpnet",
    classes="MPNet",
    config_fields=dict(max_position_embeddings=SMALL["max_position_embeddings"] + 2, pad_token_id=1,
                       relative_attention_num_buckets=32),
    rules=(RULE,),
    note="its attention is its own code (no attention interface); the rule passes its relative position bias",
    pooling={"mode": "mean", "normalize": True},
    first_position=None,  # the relative position bias spans padded positions
    input_names=("input_ids", "attention_mask"),
    description="MPNet from its config (small random weights; or a local checkpoint folder, e.g. all-mpnet-base-v2): "
                "relative position bias as the node's attn_bias, mean pooling + L2",
)
load, patch = RECIPE.load, RECIPE.patch
