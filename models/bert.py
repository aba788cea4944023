"""BERT (`bert`): query/key/value in BertSelfAttention, output projection outside it.

The registered recipe is a small random BERT with sentence-transformers pooling (mean + L2 normalisation,
as all-MiniLM-L6-v2); a local checkpoint folder loads real weights and its own pooling configuration.
"""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL
from .patching import AttentionRule

RULES = (AttentionRule("BertSelfAttention"),)
POOLING = {"mode": "mean", "normalize": True}


def config():
    from transformers import BertConfig

    return BertConfig(vocab_size=SMALL["vocab"], hidden_size=SMALL["hidden"], num_hidden_layers=SMALL["layers"],
                      num_attention_heads=SMALL["heads"], intermediate_size=SMALL["intermediate"],
                      max_position_embeddings=SMALL["positions"], type_vocab_size=2)


RECIPE = family_recipe(
    name="bert",
    model_class="BertModel",
    config=config,
    rules=RULES,
    pooling=POOLING,
    model_types=("bert",),
    description="BERT from its config (small random weights; or a local checkpoint folder), mean pooling + L2",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
