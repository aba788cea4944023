"""DistilBERT (`distilbert`): through transformers' attention interface (no rule); no token type embeddings."""

from __future__ import annotations

from .family import family_recipe

POOLING = {"mode": "mean", "normalize": False}


RECIPE = family_recipe(
    name="distilbert",
    classes="DistilBert",
    config_fields=dict(hidden_dim=128),  # its FFN width has no attribute_map entry
    pooling=POOLING,
    input_names=("input_ids", "attention_mask"),  # DistilBERT has no token type embeddings
    description="DistilBERT from its config (small random weights; or a local checkpoint folder), mean pooling",
)
load, patch = RECIPE.load, RECIPE.patch
