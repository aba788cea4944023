"""XLM-RoBERTa (`xlm-roberta`): RoBERTa's layout under its own class names."""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL
from .patching import AttentionRule

RULES = (AttentionRule("XLMRobertaSelfAttention"),)
POOLING = {"mode": "mean", "normalize": False}


def config():
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(vocab_size=SMALL["vocab"], hidden_size=SMALL["hidden"],
                            num_hidden_layers=SMALL["layers"], num_attention_heads=SMALL["heads"],
                            intermediate_size=SMALL["intermediate"], max_position_embeddings=SMALL["positions"] + 2,
                            type_vocab_size=1, pad_token_id=1)


RECIPE = family_recipe(
    name="xlm-roberta",
    model_class="XLMRobertaModel",
    config=config,
    rules=RULES,
    pooling=POOLING,
    model_types=("xlm-roberta",),
    first_position=lambda config: config.pad_token_id + 1,  # positions count after the pad id
    input_names=("input_ids", "attention_mask"),
    description="XLM-RoBERTa from its config (small random weights; or a local checkpoint folder), mean pooling",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
