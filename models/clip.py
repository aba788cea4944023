"""CLIP's towers: the vision tower (`clip-vision`) exports; the text tower (`clip-text`) is refused.

Both go through transformers' attention interface. The vision tower is a ViT (pre-LayerNorm, pooler = the
post-LayerNorm CLS token). The text tower builds a causal mask (each token sees only the tokens before it, its
embedding is read at the end-of-text token): the interface's structure check refuses it at patch time, naming
the layer; the encexport node is bidirectional and has no causal mode.
"""

from __future__ import annotations

from .family import family_recipe
from .vit import IMAGE



def _tower(name: str, classes: str, **fields):
    """One CLIP tower: its own model class (also for checkpoints, which hold both towers), pooler output."""
    return family_recipe(name=name, classes=classes, pooling={"mode": "pooler"},
                         model_types=(f"{name.replace('-', '_')}_model",), checkpoint_class=f"{classes}Model", **fields)


VISION = _tower(
    "clip-vision", "CLIPVision",
    config_fields=dict(image_size=32, patch_size=8, num_channels=3),
    description="CLIP vision tower from its config (small random weights; or a local checkpoint folder), pooler = "
                "post-LayerNorm CLS",
    **IMAGE,
)

TEXT_REFUSAL = ("causal attention: CLIP's text tower masks every token to the tokens before it; the encexport node "
                "is bidirectional (causal=0)")

TEXT = _tower(
    "clip-text", "CLIPText",
    config_fields=dict(eos_token_id=2, bos_token_id=1, pad_token_id=0),
    first_position=None,
    input_names=("input_ids", "attention_mask"),
    handling="refused",
    note=TEXT_REFUSAL,
    description="CLIP text tower: refused (causal mask)",
)
