"""DistilBERT (`distilbert`): q_lin/k_lin/v_lin, and out_lin applied inside the attention module."""

from __future__ import annotations

from .family import family_recipe
from .patching import AttentionRule

RULES = (AttentionRule("DistilBertSelfAttention", q="q_lin", k="k_lin", v="v_lin", out="out_lin"),)
POOLING = {"mode": "mean", "normalize": False}


RECIPE = family_recipe(
    name="distilbert",
    model_class="DistilBertModel",
    config_class="DistilBertConfig",
    config_fields=dict(hidden_dim=128),  # its FFN width has no attribute_map entry
    rules=RULES,
    pooling=POOLING,
    input_names=("input_ids", "attention_mask"),  # DistilBERT has no token type embeddings
    description="DistilBERT from its config (small random weights; or a local checkpoint folder), mean pooling",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
