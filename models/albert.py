"""ALBERT (`albert`): one attention module shared by every layer (each call is a node); through transformers'
attention interface."""

from __future__ import annotations

from .family import family_recipe

RECIPE = family_recipe(
    name="albert",
    classes="Albert",
    config_fields=dict(embedding_size=32, type_vocab_size=2),
    pooling={"mode": "mean", "normalize": False},
    description="ALBERT from its config (small random weights; or a local checkpoint folder), mean pooling",
)
load, patch = RECIPE.load, RECIPE.patch
