"""DistilBERT (`distilbert`): q_lin/k_lin/v_lin, and out_lin applied inside the attention module."""

from __future__ import annotations

from .loading import SAMPLE_TEXTS, SMALL, from_checkpoint, seeded_model
from .patching import AttentionRule, patch_attention
from .recipe import Recipe

RULES = (AttentionRule("DistilBertSelfAttention", q="q_lin", k="k_lin", v="v_lin", out="out_lin"),)
POOLING = {"mode": "mean", "normalize": False}


def config():
    from transformers import DistilBertConfig

    return DistilBertConfig(vocab_size=SMALL["vocab"], dim=SMALL["hidden"], n_layers=SMALL["layers"],
                            n_heads=SMALL["heads"], hidden_dim=SMALL["intermediate"],
                            max_position_embeddings=SMALL["positions"])


def load():
    from transformers import DistilBertModel

    return seeded_model(DistilBertModel, config()), None, dict(POOLING)


def load_checkpoint(path):
    return from_checkpoint(path, POOLING)


def patch(model, **kwargs):
    return patch_attention(model, RULES, model.config.num_attention_heads, **kwargs)


RECIPE = Recipe(
    name="distilbert",
    model_types=("distilbert",),
    load=load,
    load_checkpoint=load_checkpoint,
    patch=patch,
    input_names=("input_ids", "attention_mask"),  # DistilBERT has no token type embeddings
    sample_texts=SAMPLE_TEXTS,
    description="DistilBERT from its config (small random weights; or a local checkpoint folder), mean pooling",
)
