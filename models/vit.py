"""ViT (`vit`): an image encoder. Input pixel_values, every patch token valid: no mask, no lengths input.

The attention module holds q_proj/k_proj/v_proj and applies o_proj itself. Outputs keep Hugging Face's
names: last_hidden_state and pooler_output (the model's own pooler over the CLS token).
"""

from __future__ import annotations

from .family import family_recipe
from .loading import random_image_inputs
from .patching import AttentionRule

RULES = (AttentionRule("ViTAttention", q="q_proj", k="k_proj", v="v_proj", out="o_proj"),)
POOLING = {"mode": "pooler"}


RECIPE = family_recipe(
    name="vit",
    model_class="ViTModel",
    config_class="ViTConfig",
    config_fields=dict(image_size=32, patch_size=8, num_channels=3),
    rules=RULES,
    pooling=POOLING,
    tokenizer=False,
    first_position=None,  # every patch is valid: nothing to pack
    input_names=("pixel_values",),
    modality="image",
    output_names=("last_hidden_state", "pooler_output"),
    example_inputs=random_image_inputs,
    shapes={"batch": 2},
    description="ViT image encoder from its config (small random weights; or a local checkpoint folder)",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
