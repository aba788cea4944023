"""DistilBERT (`distilbert`): q_lin/k_lin/v_lin, and out_lin applied inside the attention module."""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL
from .patching import AttentionRule

RULES = (AttentionRule("DistilBertSelfAttention", q="q_lin", k="k_lin", v="v_lin", out="out_lin"),)
POOLING = {"mode": "mean", "normalize": False}


def config():
    from transformers import DistilBertConfig

    return DistilBertConfig(vocab_size=SMALL["vocab"], dim=SMALL["hidden"], n_layers=SMALL["layers"],
                            n_heads=SMALL["heads"], hidden_dim=SMALL["intermediate"],
                            max_position_embeddings=SMALL["positions"])


RECIPE = family_recipe(
    name="distilbert",
    model_class="DistilBertModel",
    config=config,
    rules=RULES,
    pooling=POOLING,
    model_types=("distilbert",),
    input_names=("input_ids", "attention_mask"),  # DistilBERT has no token type embeddings
    description="DistilBERT from its config (small random weights; or a local checkpoint folder), mean pooling",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
