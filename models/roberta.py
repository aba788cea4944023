"""RoBERTa (`roberta`): BERT's attention layout; positions derive from the pad id, no token types fed."""

from __future__ import annotations

from .loading import SAMPLE_TEXTS, SMALL, from_checkpoint, seeded_model
from .patching import AttentionRule, patch_attention
from .recipe import Recipe

RULES = (AttentionRule("RobertaSelfAttention"),)
POOLING = {"mode": "cls", "normalize": False}


def config():
    from transformers import RobertaConfig

    # Positions start after the pad id (padding_idx + 1), hence the two extra position rows.
    return RobertaConfig(vocab_size=SMALL["vocab"], hidden_size=SMALL["hidden"], num_hidden_layers=SMALL["layers"],
                         num_attention_heads=SMALL["heads"], intermediate_size=SMALL["intermediate"],
                         max_position_embeddings=SMALL["positions"] + 2, type_vocab_size=1, pad_token_id=1)


def load():
    from transformers import RobertaModel

    return seeded_model(RobertaModel, config()), None, dict(POOLING)


def load_checkpoint(path):
    return from_checkpoint(path, POOLING)


def patch(model, **kwargs):
    return patch_attention(model, RULES, model.config.num_attention_heads, **kwargs)


RECIPE = Recipe(
    name="roberta",
    model_types=("roberta",),
    load=load,
    load_checkpoint=load_checkpoint,
    patch=patch,
    first_position=lambda config: config.pad_token_id + 1,  # positions count after the pad id
    input_names=("input_ids", "attention_mask"),  # what RoBERTa tokenizers return
    sample_texts=SAMPLE_TEXTS,
    description="RoBERTa from its config (small random weights; or a local checkpoint folder), CLS pooling",
)
