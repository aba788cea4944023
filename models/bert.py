"""BERT (`bert`): query/key/value in BertSelfAttention, output projection outside it.

The registered recipe is a small random BERT with sentence-transformers pooling (mean + L2 normalisation,
as all-MiniLM-L6-v2); a local checkpoint folder loads real weights and its own pooling configuration.
"""

from __future__ import annotations

from .loading import SAMPLE_TEXTS, SMALL, from_checkpoint, seeded_model
from .patching import AttentionRule, patch_attention
from .recipe import Recipe

RULES = (AttentionRule("BertSelfAttention"),)
POOLING = {"mode": "mean", "normalize": True}


def config():
    from transformers import BertConfig

    return BertConfig(vocab_size=SMALL["vocab"], hidden_size=SMALL["hidden"], num_hidden_layers=SMALL["layers"],
                      num_attention_heads=SMALL["heads"], intermediate_size=SMALL["intermediate"],
                      max_position_embeddings=SMALL["positions"], type_vocab_size=2)


def load():
    from transformers import BertModel

    return seeded_model(BertModel, config()), None, dict(POOLING)


def load_checkpoint(path):
    return from_checkpoint(path, POOLING)


def patch(model, **kwargs):
    return patch_attention(model, RULES, model.config.num_attention_heads, **kwargs)


RECIPE = Recipe(
    name="bert",
    model_types=("bert",),
    load=load,
    load_checkpoint=load_checkpoint,
    patch=patch,
    sample_texts=SAMPLE_TEXTS,
    description="BERT from its config (small random weights; or a local checkpoint folder), mean pooling + L2",
)
