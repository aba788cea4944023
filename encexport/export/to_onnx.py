"""torch.onnx export of a recipe's patched model: one attention node per layer, dynamic batch and sequence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..progress import step
from ..symbolic import TARGETS, export_target
from .encoders import DTYPES, build_encoders
from .inputs import recipe_inputs

EXPORTERS = ("legacy", "dynamo")
OUTPUT_NAMES = ("last_hidden_state", "sentence_embedding")
# Opset per target: ONNX Attention exists from opset 23; the legacy exporter stops at 20.
DEFAULT_OPSET = {"onnx-attention": 23}


@dataclass
class ExportResult:
    path: Path
    exporter: str
    target: str
    dtype: str
    opset: int
    seconds: float
    config: object = field(default=None, repr=False)  # the model's Hugging Face config (heads, hidden size)


def _dynamic_dims(recipe) -> tuple[dict, dict]:
    """Dynamic axes per input and output: text is [batch, sequence]; an image's token count is fixed by
    its size (position embeddings), so only the batch varies."""
    text = recipe.modality == "text"
    tokens = {0: "batch", 1: "sequence"} if text else {0: "batch"}
    hidden, pooled = recipe.output_names
    return {n: dict(tokens) for n in recipe.input_names}, {hidden: dict(tokens), pooled: {0: "batch"}}


def export(recipe, out_dir: Path, *, exporter: str = "dynamo", target: str = "encexport", dtype: str = "fp32",
           opset: int | None = None, backend: str | None = None, layout: str = "padded") -> ExportResult:
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

    with step(f"loading {recipe.name} (offline) and patching its attention"):
        _, patched, tokenizer = build_encoders(recipe, backend=backend, dtype=dtype, layout=layout)
    sample = recipe_inputs(recipe, patched.model, tokenizer, recipe.sample_texts[:2])
    names = tuple(sample)
    args = tuple(sample[n] for n in names)
    input_axes, output_axes = _dynamic_dims(recipe)
    axes = {n: input_axes[n] for n in names} | output_axes
    output_names = list(output_axes)

    start = time.perf_counter()
    with step(f"exporting with the {exporter} exporter, target {target}, {dtype}, opset {opset}"), \
            export_target(target), torch.no_grad():
        if exporter == "legacy":
            torch.onnx.export(patched, args, str(path), dynamo=False, input_names=list(names),
                              output_names=output_names, dynamic_axes=axes, opset_version=opset)
        else:
            dims = {"batch": torch.export.Dim("batch", min=1, max=4096),
                    "sequence": torch.export.Dim("sequence", min=1, max=8192)}
            shapes = {n: {i: dims[d] for i, d in input_axes[n].items()} for n in names}
            program = torch.onnx.export(patched, args, dynamo=True, input_names=list(names),
                                        output_names=output_names, dynamic_shapes=shapes,
                                        opset_version=opset, verbose=False)
            program.save(str(path))
    seconds = time.perf_counter() - start
    return ExportResult(path, exporter, target, dtype, opset, seconds, patched.model.config)
