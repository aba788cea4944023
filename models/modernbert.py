"""ModernBERT (`modernbert`): fused Wqkv, rotary embeddings, alternating local (sliding-window) and global layers.

Through transformers' attention interface (no rule): the model applies its rotary embeddings itself before the
call, so q and k reach the node rotated. Global layers are full bidirectional attention. A sliding-window
(local) layer passes the interface's structure check only when its window covers every position the model
accepts (window >= max_position_embeddings - 1: the band then removes no key, full attention is the same
function); a narrower window is refused at patch time, naming the layer. The node has no window.
"""

from __future__ import annotations

from .family import family_recipe
from .loading import SMALL

POOLING = {"mode": "mean", "normalize": False}


RECIPE = family_recipe(
    name="modernbert",
    classes="ModernBert",
    # Global attention only; load(layer_types=..., local_attention=...) builds alternating variants.
    config_fields=dict(pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2,
                       layer_types=["full_attention"] * SMALL["num_hidden_layers"]),
    pooling=POOLING,
    input_names=("input_ids", "attention_mask"),
    description="ModernBERT from its config (small random weights, global attention only; or a local checkpoint "
                "folder): rotary applied by the model; narrow sliding-window layers are refused",
)
load, patch = RECIPE.load, RECIPE.patch
