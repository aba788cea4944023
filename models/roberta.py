"""RoBERTa (`roberta`): BERT's attention layout; positions derive from the pad id, no token types fed."""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL
from .patching import AttentionRule

RULES = (AttentionRule("RobertaSelfAttention"),)
POOLING = {"mode": "cls", "normalize": False}


def config():
    from transformers import RobertaConfig

    # Positions start after the pad id (padding_idx + 1), hence the two extra position rows.
    return RobertaConfig(vocab_size=SMALL["vocab"], hidden_size=SMALL["hidden"], num_hidden_layers=SMALL["layers"],
                         num_attention_heads=SMALL["heads"], intermediate_size=SMALL["intermediate"],
                         max_position_embeddings=SMALL["positions"] + 2, type_vocab_size=1, pad_token_id=1)


RECIPE = family_recipe(
    name="roberta",
    model_class="RobertaModel",
    config=config,
    rules=RULES,
    pooling=POOLING,
    model_types=("roberta",),
    first_position=lambda config: config.pad_token_id + 1,  # positions count after the pad id
    input_names=("input_ids", "attention_mask"),  # what RoBERTa tokenizers return
    description="RoBERTa from its config (small random weights; or a local checkpoint folder), CLS pooling",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
