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
from ..progress import step


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


class RecipeMismatch(ValueError):
    """The model was not exported from the recipe it is checked against."""


def check_against_pytorch(recipe, onnx_path: Path, *, providers: list[str] | None = None, texts=None,
                          loaded=None) -> CheckReport:
    """Run the exported model in ONNX Runtime and compare with the unmodified PyTorch model (fp32).

    `loaded`: the recipe's (model, tokenizer, pooling) when the caller has them already."""
    with step(f"checking {Path(onnx_path).name} in ONNX Runtime against the unmodified PyTorch model"):
        return _check(recipe, onnx_path, providers or ["CPUExecutionProvider"], texts, loaded or recipe.load())


def _check(recipe, onnx_path, providers, texts, loaded) -> CheckReport:
    model, tokenizer, pooling = loaded
    reference = wrap(recipe, model.eval(), pooling)
    batch = recipe_inputs(recipe, model, tokenizer, texts)
    with torch.no_grad():
        ref_hidden, ref_emb = (t.numpy() for t in reference(**batch))
    fix = "ask for CPUExecutionProvider (--providers)"
    eort.require_provider(None, providers, fix=fix)
    try:
        session = eort.session(onnx_path, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types derive from Exception only
        if isinstance(exc, (FileNotFoundError, ValueError)):
            raise
        raise RuntimeError(f"ONNX Runtime cannot open {onnx_path} on {', '.join(providers)}: {exc}") from exc
    eort.require_provider(session, providers, fix=fix)
    feed_names = {i.name for i in session.get_inputs()}
    missing = feed_names - set(batch)
    if missing:
        raise RecipeMismatch(f"{onnx_path} takes {', '.join(sorted(missing))}, which recipe {recipe.name} does not "
                             "feed: it was exported from another model; pass the --model it was exported from")
    absent = set(recipe.output_names) - {o.name for o in session.get_outputs()}
    if absent:
        raise RecipeMismatch(f"{onnx_path} has no output {', '.join(sorted(absent))}, which recipe {recipe.name} "
                             "exports: it was exported from another model; pass the --model it was exported from")
    hidden_size = getattr(model.config, "hidden_size", None)
    width = session.get_outputs()[[o.name for o in session.get_outputs()].index(recipe.output_names[0])].shape[-1]
    if isinstance(width, int) and hidden_size is not None and width != hidden_size:
        raise RecipeMismatch(f"{onnx_path} has hidden size {width} where recipe {recipe.name} has {hidden_size}: it "
                             "was exported from another model; pass the --model it was exported from")
    feed = {n: t.numpy() for n, t in batch.items() if n in feed_names}
    try:
        hidden, emb = session.run(list(recipe.output_names), feed)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types derive from Exception only
        raise RecipeMismatch(f"{onnx_path} fails on the inputs of recipe {recipe.name} ({exc}); if it was exported "
                             "from another model, pass the --model it was exported from") from exc
    if hidden.shape != ref_hidden.shape or emb.shape != ref_emb.shape:
        raise RecipeMismatch(f"{onnx_path} gives outputs of shapes {hidden.shape}, {emb.shape} where recipe "
                             f"{recipe.name} gives {ref_hidden.shape}, {ref_emb.shape}: it was exported from "
                             "another model; pass the --model it was exported from")
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
