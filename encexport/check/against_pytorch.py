"""The export's own check: the exported model in ONNX Runtime against the unmodified PyTorch model.

Sentence level: cosine of the pooled embeddings and the largest error of the hidden states over valid tokens,
on real sentences (or the recipe's example inputs). `encexport export` runs it on what it wrote; `encexport
check` runs it first, then the per-runner Polygraphy comparison (polygraphy_run.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import ort as eort
from ..export.encoders import wrap
from ..export.inputs import recipe_inputs
from ..progress import progress


@dataclass
class CheckReport:
    texts: int
    max_abs_error: float
    min_cosine: float
    mean_cosine: float
    hidden_max_abs_error: float
    providers: list[str]
    fp32_fallbacks: list[str] = field(default_factory=list)  # fp16-weighted op types the providers ran in fp32

    def lines(self) -> list[str]:
        lines = [f"sentences            {self.texts}",
                 f"providers            {', '.join(self.providers)}",
                 f"embedding max |err|  {self.max_abs_error:.3e}",
                 f"embedding cosine     min {self.min_cosine:.6f}  mean {self.mean_cosine:.6f}",
                 f"hidden max |err|     {self.hidden_max_abs_error:.3e} (valid tokens)"]
        if self.fp32_fallbacks:
            lines.append(f"fp16 fallback        no float16 kernel on {', '.join(self.providers)} for "
                         f"{', '.join(self.fp32_fallbacks)}: ONNX Runtime ran them in fp32 on the fp16 weights")
        return lines


def check_against_pytorch(recipe, onnx_path: Path, *, providers: list[str] | None = None, texts=None) -> CheckReport:
    """Run the exported model in ONNX Runtime and compare with the unmodified PyTorch model (fp32)."""

    progress(f"checking {onnx_path} in ONNX Runtime against the unmodified PyTorch model")
    model, tokenizer, pooling = recipe.load()
    reference = wrap(recipe, model.eval(), pooling)
    batch = recipe_inputs(recipe, model, tokenizer, texts)
    with torch.no_grad():
        ref_hidden, ref_emb = (t.numpy() for t in reference(**batch))
    session = eort.session(onnx_path, providers=providers)
    feed_names = {i.name for i in session.get_inputs()}
    feed = {n: t.numpy() for n, t in batch.items() if n in feed_names}
    hidden, emb = session.run(list(recipe.output_names), feed)
    hidden, emb = hidden.astype(np.float32), emb.astype(np.float32)
    cos = (emb * ref_emb).sum(-1) / (np.linalg.norm(emb, axis=-1) * np.linalg.norm(ref_emb, axis=-1))
    mask = batch.get("attention_mask")
    valid = mask.numpy().astype(bool) if mask is not None else np.ones(hidden.shape[:2], dtype=bool)
    return CheckReport(
        texts=len(emb),
        max_abs_error=float(np.abs(emb - ref_emb).max()),
        min_cosine=float(cos.min()),
        mean_cosine=float(cos.mean()),
        hidden_max_abs_error=float(np.abs(hidden - ref_hidden)[valid].max()),
        providers=session.get_providers(),
        fp32_fallbacks=eort.fp32_fallbacks(onnx_path, session.get_providers()),
    )
