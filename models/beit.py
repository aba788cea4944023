"""BEiT (`beit`): an image encoder whose relative position bias reaches the node as `attn_bias`.

Through transformers' attention interface: each layer adds its relative position bias [1, H, S, S] to the
attention mask (no padding in images), and that additive mask is written as the node's bias input.
"""

from __future__ import annotations

from .family import family_recipe
from .vit import IMAGE

RECIPE = family_recipe(
    name="beit",
    classes="Beit",
    config_fields=dict(image_size=32, patch_size=8, num_channels=3, use_relative_position_bias=True),
    pooling={"mode": "pooler"},
    description="BEiT image encoder from its config (small random weights; or a local checkpoint folder): relative "
                "position bias as the node's attn_bias, mean-pooled patches",
    **IMAGE,
)
load, patch = RECIPE.load, RECIPE.patch
