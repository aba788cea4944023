"""ViT (`vit`): an image encoder through transformers' attention interface (no rule). Input pixel_values, every
patch token valid: no mask, no lengths input. Outputs keep Hugging Face's names: last_hidden_state and
pooler_output (the model's own pooler over the CLS token).
"""

from __future__ import annotations

from .family import family_recipe
from .loading import random_image_inputs

POOLING = {"mode": "pooler"}
IMAGE = dict(tokenizer=False, first_position=None, input_names=("pixel_values",), modality="image",
             output_names=("last_hidden_state", "pooler_output"), example_inputs=random_image_inputs,
             shapes={"batch": 2})


RECIPE = family_recipe(
    name="vit",
    classes="ViT",
    config_fields=dict(image_size=32, patch_size=8, num_channels=3),
    pooling=POOLING,
    description="ViT image encoder from its config (small random weights; or a local checkpoint folder)",
    **IMAGE,
)
load, patch = RECIPE.load, RECIPE.patch
