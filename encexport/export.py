"""Export a recipe's model to ONNX with its attention as one node per layer, and check it against PyTorch.

Pipeline: load (offline) -> patch attention (weights untouched) -> wrap (mask -> lengths, pooling) ->
torch.onnx.export (legacy or dynamo) -> ONNX Runtime with the encexport library -> compare with the
unmodified PyTorch model on real sentences.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .symbolic import TARGETS, export_target

EXPORTERS = ("legacy", "dynamo")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
OUTPUT_NAMES = ("last_hidden_state", "sentence_embedding")
# Opset per target: ONNX Attention exists from opset 23; the legacy exporter stops at 20.
DEFAULT_OPSET = {"onnx-attention": 23}


def _progress(msg: str) -> None:
    print(f"[encexport] {msg}", file=sys.stderr, flush=True)


class SentenceEncoder(nn.Module):
    """input_ids/attention_mask/token_type_ids -> (last_hidden_state, pooled sentence embedding).

    The attention mask becomes per-sequence lengths inside the graph (sum over the mask: right padding,
    as tokenizers produce it); the patched layers read them from `slot`.
    """

    def __init__(self, model: nn.Module, pooling: dict, slot=None):
        super().__init__()
        self.model = model
        self.pooling = pooling
        self.slot = slot

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if self.slot is not None:
            self.slot.value = attention_mask.sum(-1, dtype=torch.int32)
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        if self.pooling.get("mode") == "cls":
            pooled = hidden[:, 0]
        else:
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.pooling.get("normalize"):
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).to(hidden.dtype)
        return hidden, pooled


@dataclass
class ExportResult:
    path: Path
    exporter: str
    target: str
    dtype: str
    opset: int
    seconds: float


def build_encoders(recipe, *, backend: str | None = None, dtype: str = "fp32"):
    """(reference, patched): the unmodified model and a deep copy with its attention swapped."""
    model, tokenizer, pooling = recipe.load()
    model.eval()
    reference = SentenceEncoder(model, pooling)
    patched_model = copy.deepcopy(model)
    slot = recipe.patch(patched_model, backend=backend)
    patched = SentenceEncoder(patched_model, pooling, slot).eval()
    if dtype != "fp32":
        patched = patched.to(DTYPES[dtype])
    return reference, patched, tokenizer


def tokenize(tokenizer, texts, input_names) -> dict[str, torch.Tensor]:
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=512, return_tensors="pt")
    return {name: enc[name] for name in input_names if name in enc}


def export(recipe, out_dir: Path, *, exporter: str = "dynamo", target: str = "encexport", dtype: str = "fp32",
           opset: int | None = None, backend: str | None = None) -> ExportResult:
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter {exporter!r}; choose {' or '.join(EXPORTERS)}")
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose {' or '.join(DTYPES)}")
    opset = opset or DEFAULT_OPSET.get(target, 18 if exporter == "dynamo" else 17)
    if exporter == "legacy" and opset > 20:
        raise ValueError(f"the legacy exporter supports opset <= 20, not {opset}; use --exporter dynamo")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"

    _progress(f"loading {recipe.name} (offline) and patching its attention")
    _, patched, tokenizer = build_encoders(recipe, backend=backend, dtype=dtype)
    sample = tokenize(tokenizer, recipe.sample_texts[:2], recipe.input_names)
    names = tuple(sample)
    args = tuple(sample[n] for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes.update({OUTPUT_NAMES[0]: {0: "batch", 1: "sequence"}, OUTPUT_NAMES[1]: {0: "batch"}})

    _progress(f"exporting with the {exporter} exporter, target {target}, {dtype}, opset {opset} -> {path}")
    start = time.perf_counter()
    with export_target(target), torch.no_grad():
        if exporter == "legacy":
            torch.onnx.export(patched, args, str(path), dynamo=False, input_names=list(names),
                              output_names=list(OUTPUT_NAMES), dynamic_axes=axes, opset_version=opset)
        else:
            batch, seq = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("sequence", min=1, max=8192)
            shapes = {n: {0: batch, 1: seq} for n in names}
            program = torch.onnx.export(patched, args, dynamo=True, input_names=list(names),
                                        output_names=list(OUTPUT_NAMES), dynamic_shapes=shapes,
                                        opset_version=opset, verbose=False)
            program.save(str(path))
    seconds = time.perf_counter() - start
    _progress(f"exported in {seconds:.1f} s")
    return ExportResult(path, exporter, target, dtype, opset, seconds)


@dataclass
class CheckReport:
    texts: int
    max_abs_error: float
    min_cosine: float
    mean_cosine: float
    hidden_max_abs_error: float
    providers: list[str]

    def lines(self) -> list[str]:
        return [f"sentences            {self.texts}",
                f"providers            {', '.join(self.providers)}",
                f"embedding max |err|  {self.max_abs_error:.3e}",
                f"embedding cosine     min {self.min_cosine:.6f}  mean {self.mean_cosine:.6f}",
                f"hidden max |err|     {self.hidden_max_abs_error:.3e} (valid tokens)"]


def check(recipe, onnx_path: Path, *, providers: list[str] | None = None, texts=None) -> CheckReport:
    """Run the exported model in ONNX Runtime and compare with the unmodified PyTorch model (fp32)."""
    from . import ort as eort

    _progress(f"checking {onnx_path} in ONNX Runtime against the unmodified PyTorch model")
    model, tokenizer, pooling = recipe.load()
    reference = SentenceEncoder(model.eval(), pooling)
    batch = tokenize(tokenizer, texts or recipe.sample_texts, recipe.input_names)
    with torch.no_grad():
        ref_hidden, ref_emb = (t.numpy() for t in reference(**batch))
    session = eort.session(onnx_path, providers=providers)
    feed_names = {i.name for i in session.get_inputs()}
    feed = {n: t.numpy() for n, t in batch.items() if n in feed_names}
    hidden, emb = session.run(list(OUTPUT_NAMES), feed)
    hidden, emb = hidden.astype(np.float32), emb.astype(np.float32)
    cos = (emb * ref_emb).sum(-1) / (np.linalg.norm(emb, axis=-1) * np.linalg.norm(ref_emb, axis=-1))
    valid = batch["attention_mask"].numpy().astype(bool)
    return CheckReport(
        texts=len(emb),
        max_abs_error=float(np.abs(emb - ref_emb).max()),
        min_cosine=float(cos.min()),
        mean_cosine=float(cos.mean()),
        hidden_max_abs_error=float(np.abs(hidden - ref_hidden)[valid].max()),
        providers=session.get_providers(),
    )
