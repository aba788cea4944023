"""Prepare what the GPU check needs but the GPU machine cannot make itself (it has no copy of the MiniLM weights):
the fp16 all-MiniLM-L6-v2 export and the reference embeddings of the unmodified fp32 PyTorch model.

    python -m encexport.gpu_check prepare [DEST]     # default DEST: .gpu_models (carry it to the GPU machine)

Writes DEST/minilm_fp16.onnx (legacy exporter, fp16, encexport nodes) and DEST/minilm_reference.npz
(input_ids, attention_mask, token_type_ids of 64 real sentences of uneven length, and the reference
sentence embeddings). tests/models/test_gpu_models.py and the `load` step read them. For the `load` step it
also writes the stock-optimized and our optimized model under DEST/load (load_models.py); --no-load skips them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..export import build_encoders, export, tokenize
from ..models import get_recipe


def sentences(recipe, count: int = 64) -> list[str]:
    """Real sentences of uneven length: the recipe's samples, joined in growing runs."""
    base = list(recipe.sample_texts)
    return [" ".join(base[(i + j) % len(base)] for j in range(1 + i % 7)) for i in range(count)]


def prepare(dest: Path, load_models: bool = True) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    recipe = get_recipe("all-MiniLM-L6-v2")
    result = export(recipe, dest / "export", exporter="legacy", dtype="fp16")
    (dest / "minilm_fp16.onnx").write_bytes(result.path.read_bytes())
    reference, _, tokenizer = build_encoders(recipe)
    batch = tokenize(tokenizer, sentences(recipe), recipe.input_names)
    with torch.no_grad():
        _, embedding = reference(**batch)
    np.savez(dest / "minilm_reference.npz", embedding=embedding.numpy(), **{k: v.numpy() for k, v in batch.items()})
    print(f"wrote {dest}/minilm_fp16.onnx and minilm_reference.npz "
          f"({len(batch['input_ids'])} sentences, lengths {batch['attention_mask'].sum(1).min()}.."
          f"{batch['attention_mask'].sum(1).max()})")
    if load_models:
        from .load_models import write_load_models

        arrays = {k: v.numpy() for k, v in batch.items()}
        for line in write_load_models(dest, recipe, arrays, embedding.numpy().astype(np.float64)):
            print(f"wrote {line}")
    return 0
