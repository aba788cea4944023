"""XLM-RoBERTa (`xlm-roberta`): RoBERTa's layout under its own class names."""

from __future__ import annotations

from .loading import SAMPLE_TEXTS, SMALL, from_checkpoint, seeded_model
from .patching import AttentionRule, patch_attention
from .recipe import Recipe

RULES = (AttentionRule("XLMRobertaSelfAttention"),)
POOLING = {"mode": "mean", "normalize": False}


def config():
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(vocab_size=SMALL["vocab"], hidden_size=SMALL["hidden"],
                            num_hidden_layers=SMALL["layers"], num_attention_heads=SMALL["heads"],
                            intermediate_size=SMALL["intermediate"], max_position_embeddings=SMALL["positions"] + 2,
                            type_vocab_size=1, pad_token_id=1)


def load():
    from transformers import XLMRobertaModel

    return seeded_model(XLMRobertaModel, config()), None, dict(POOLING)


def load_checkpoint(path):
    return from_checkpoint(path, POOLING)


def patch(model, **kwargs):
    return patch_attention(model, RULES, model.config.num_attention_heads, **kwargs)


RECIPE = Recipe(
    name="xlm-roberta",
    model_types=("xlm-roberta",),
    load=load,
    load_checkpoint=load_checkpoint,
    patch=patch,
    first_position=lambda config: config.pad_token_id + 1,  # positions count after the pad id
    input_names=("input_ids", "attention_mask"),
    sample_texts=SAMPLE_TEXTS,
    description="XLM-RoBERTa from its config (small random weights; or a local checkpoint folder), mean pooling",
)
