"""BERT (`bert`): query/key/value in BertSelfAttention, output projection outside it.

The registered recipe is a small random BERT with sentence-transformers pooling (mean + L2 normalisation,
as all-MiniLM-L6-v2); a local checkpoint folder loads real weights and its own pooling configuration.
"""

from __future__ import annotations

from .family import family_recipe
from .patching import AttentionRule

RULES = (AttentionRule("BertSelfAttention"),)
POOLING = {"mode": "mean", "normalize": True}
# Why the BERT-layout families keep a rule although their attention goes through the interface.
FAST_PATH = ("rule kept as the fast path: one q/k/v GEMM and no transposes around the node (the graph ONNX Runtime's "
             "optimizer fuses); the attention interface would express it too")


RECIPE = family_recipe(
    name="bert",
    classes="Bert",
    config_fields=dict(type_vocab_size=2),
    rules=RULES,
    pooling=POOLING,
    note=FAST_PATH,
    description="BERT from its config (small random weights; or a local checkpoint folder), mean pooling + L2",
)
# Module-level handles, e.g. modernbert.load(layer_types=...) builds a variant config.
load, patch = RECIPE.load, RECIPE.patch
