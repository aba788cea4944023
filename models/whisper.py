"""Whisper encoder (`whisper`): log-mel features in, every frame valid (no mask, no lengths input).

Through transformers' attention interface; scaling 1 (Whisper scales its query projection). The encoder takes a
fixed number of frames (2 per position), so only the batch is dynamic; the embedding is the mean over frames.
A local checkpoint of the full model (encoder-decoder) exports its encoder.
"""

from __future__ import annotations

from .family import family_recipe
from .loading import random_audio_inputs

RECIPE = family_recipe(
    name="whisper",
    model_class="models.whisper.modeling_whisper.WhisperEncoder",
    config_class="WhisperConfig",
    config_fields=dict(d_model=64, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=128,
                       decoder_layers=1, decoder_attention_heads=4, decoder_ffn_dim=128, num_mel_bins=8,
                       max_source_positions=16, max_target_positions=16, pad_token_id=0, bos_token_id=1,
                       eos_token_id=2, decoder_start_token_id=1),
    pooling={"mode": "mean"},
    tokenizer=False,
    first_position=None,
    input_names=("input_features",),
    modality="audio",
    output_names=("last_hidden_state", "pooler_output"),
    example_inputs=random_audio_inputs,
    shapes={"batch": 2},
    description="Whisper encoder from its config (small random weights; or a local checkpoint folder's encoder), "
                "mean over frames",
)
load, patch = RECIPE.load, RECIPE.patch
