"""T5 encoder (`t5`, T5EncoderModel): its relative position bias reaches the node as `attn_bias`.

Through transformers' attention interface: T5 hands its `position_bias` [1, H, S, S] (computed once by the first
layer, shared by all) to the attention call, which writes it as the node's bias input; scaling 1 (T5 folds it
into its weights). The bias is over padded positions, so there is no packed variant.
"""

from __future__ import annotations

from .family import family_recipe

RECIPE = family_recipe(
    name="t5",
    model_class="T5EncoderModel",
    config_class="T5Config",
    config_fields=dict(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
                       relative_attention_max_distance=32, is_encoder_decoder=False, use_cache=False),
    pooling={"mode": "mean", "normalize": False},
    checkpoint_class="T5EncoderModel",
    first_position=None,  # the bias is over padded positions
    input_names=("input_ids", "attention_mask"),
    description="T5 encoder from its config (small random weights; or a local checkpoint folder): relative "
                "position bias as the node's attn_bias, mean pooling",
)
load, patch = RECIPE.load, RECIPE.patch
