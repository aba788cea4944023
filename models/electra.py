"""ELECTRA (`electra`): BERT's layout with a smaller embedding width; through transformers' attention interface."""

from __future__ import annotations

from .family import family_recipe

RECIPE = family_recipe(
    name="electra",
    classes="Electra",
    config_fields=dict(embedding_size=32, type_vocab_size=2),
    pooling={"mode": "cls", "normalize": False},
    description="ELECTRA discriminator from its config (small random weights; or a local checkpoint folder), CLS "
                "pooling",
)
load, patch = RECIPE.load, RECIPE.patch
