"""CamemBERT (`camembert`): RoBERTa's layout (positions after the pad id); through transformers' attention
interface."""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL

RECIPE = family_recipe(
    name="camembert",
    classes="Camembert",
    config_fields=dict(max_position_embeddings=SMALL["max_position_embeddings"] + 2, type_vocab_size=1,
                       pad_token_id=1),
    pooling={"mode": "mean", "normalize": False},
    first_position=lambda config: config.pad_token_id + 1,
    input_names=("input_ids", "attention_mask"),
    description="CamemBERT from its config (small random weights; or a local checkpoint folder), mean pooling",
)
load, patch = RECIPE.load, RECIPE.patch
