"""RoBERTa (`roberta`): BERT's attention layout; positions derive from the pad id, no token types fed.

`roberta_family` also makes XLM-RoBERTa, the same layout under its own class names.
"""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL
from .bert import FAST_PATH
from .patching import AttentionRule


def roberta_family(name: str, class_prefix: str, pooling: dict, description: str):
    """A RoBERTa-layout recipe: <prefix>Model, <prefix>Config, <prefix>SelfAttention."""
    return family_recipe(
        name=name,
        classes=class_prefix,
        config_fields=dict(max_position_embeddings=SMALL["max_position_embeddings"] + 2, type_vocab_size=1,
                           pad_token_id=1),  # positions start after the pad id
        rules=(AttentionRule(f"{class_prefix}SelfAttention"),),
        pooling=pooling,
        first_position=lambda config: config.pad_token_id + 1,  # positions count after the pad id
        input_names=("input_ids", "attention_mask"),  # what RoBERTa tokenizers return
        description=description,
        note=FAST_PATH,
    )


RECIPE = roberta_family("roberta", "Roberta", {"mode": "cls", "normalize": False},
                        "RoBERTa from its config (small random weights; or a local checkpoint folder), CLS pooling")
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
