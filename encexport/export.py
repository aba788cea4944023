"""Export a recipe's model to ONNX with its attention as one node per layer, and check it against PyTorch.

Pipeline: load (offline) -> patch attention (weights untouched) -> wrap (text: mask -> lengths, pooling;
images: no lengths) -> torch.onnx.export (legacy or dynamo) -> ONNX Runtime with the encexport library ->
compare with the unmodified PyTorch model on real sentences (or the recipe's example inputs).
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .symbolic import TARGETS, export_target

EXPORTERS = ("legacy", "dynamo")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
LAYOUTS = ("padded", "packed")
OUTPUT_NAMES = ("last_hidden_state", "sentence_embedding")
# Opset per target: ONNX Attention exists from opset 23; the legacy exporter stops at 20.
DEFAULT_OPSET = {"onnx-attention": 23}


def _progress(msg: str) -> None:
    print(f"[encexport] {msg}", file=sys.stderr, flush=True)


class SentenceEncoder(nn.Module):
    """input_ids/attention_mask[/token_type_ids] -> (last_hidden_state, pooled embedding).

    The attention mask becomes per-sequence lengths inside the graph (sum over the mask: right padding,
    as tokenizers produce it); the patched layers read them from `slot`. A patched model gets no mask at
    all: its layers never read one, and Hugging Face's 4-D mask building would only add dead graph.
    """

    def __init__(self, model: nn.Module, pooling: dict, slot=None):
        super().__init__()
        self.model = model
        self.pooling = pooling
        self.slot = slot

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kwargs = {"input_ids": input_ids}
        if token_type_ids is not None:  # only models that have token types are given them
            kwargs["token_type_ids"] = token_type_ids
        if self.slot is not None:
            self.slot.value = attention_mask.sum(-1, dtype=torch.int32)
        else:
            kwargs["attention_mask"] = attention_mask
        out = self.model(**kwargs)
        hidden = out.last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mode = self.pooling.get("mode")
        if mode == "cls":
            pooled = hidden[:, 0]
        elif mode == "pooler":
            pooled = out.pooler_output
        else:
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.pooling.get("normalize"):
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).to(hidden.dtype)
        return hidden, pooled


class PackedSentenceEncoder(SentenceEncoder):
    """The same inputs and outputs, with padding removed once at the input.

    Valid tokens (right padding: row-major order is sequence order) are gathered into one row [1, T], run
    through the model with their in-sequence positions, every attention node in the packed layout with
    cu_seqlens, then scattered back to [B, S, hidden] (zeros at padding) before pooling. `first_position`
    is the family's position id of a sequence's first token (RoBERTa counts from pad_token_id + 1).
    """

    def __init__(self, model: nn.Module, pooling: dict, slot, first_position: int = 0):
        super().__init__(model, pooling, slot)
        self.first_position = first_position

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        batch, seq = input_ids.shape
        lengths = attention_mask.sum(-1, dtype=torch.int32)
        self.slot.value = torch.cat([lengths.new_zeros(1), lengths.cumsum(0, dtype=torch.int32)])
        keep = attention_mask.flatten().nonzero().squeeze(-1)  # [T] flat indices of the valid tokens
        positions = torch.arange(seq, device=input_ids.device).repeat(batch)[keep] + self.first_position
        kwargs = {"input_ids": input_ids.flatten()[keep][None], "position_ids": positions[None]}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids.flatten()[keep][None]
        out = self.model(**kwargs)
        packed = out.last_hidden_state[0]  # [T, hidden]
        hidden = packed.new_zeros(batch * seq, packed.shape[-1]).index_copy(0, keep, packed)
        hidden = hidden.view(batch, seq, -1)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        if self.pooling.get("mode") == "cls":
            pooled = hidden[:, 0]
        else:
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.pooling.get("normalize"):
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).to(hidden.dtype)
        return hidden, pooled


class ImageEncoder(nn.Module):
    """pixel_values -> (last_hidden_state, pooler_output). Every patch token is valid: the patched layers get
    no lengths (slot value None), so each node runs over the full sequence without a lengths input."""

    def __init__(self, model: nn.Module, pooling: dict, slot=None):
        super().__init__()
        self.model = model
        self.pooling = pooling
        self.slot = slot

    def forward(self, pixel_values):
        if self.slot is not None:
            self.slot.value = None
        out = self.model(pixel_values=pixel_values)
        hidden = out.last_hidden_state
        pooled = out.pooler_output if self.pooling.get("mode") == "pooler" else None
        if pooled is None:  # no pooler layer: the CLS token, as the pooler would read it
            pooled = hidden[:, 0]
        return hidden, pooled


WRAPPERS = {"text": SentenceEncoder, "image": ImageEncoder}


@dataclass
class ExportResult:
    path: Path
    exporter: str
    target: str
    dtype: str
    opset: int
    seconds: float
    config: object = field(default=None, repr=False)  # the model's Hugging Face config (heads, hidden size)


def _wrap(recipe, model, pooling, slot=None) -> nn.Module:
    return WRAPPERS[recipe.modality](model, pooling, slot).eval()


def build_encoders(recipe, *, backend: str | None = None, dtype: str = "fp32", layout: str = "padded"):
    """(reference, patched, tokenizer): the unmodified model and a deep copy with its attention swapped.

    layout="packed": the patched model packs tokens once at the input (PackedSentenceEncoder)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose {' or '.join(LAYOUTS)}")
    model, tokenizer, pooling = recipe.load()
    model.eval()
    reference = _wrap(recipe, model, pooling)
    patched_model = copy.deepcopy(model)
    if layout == "packed":
        if recipe.first_position is None:
            raise ValueError(f"{recipe.name} has no packed variant (its inputs carry no padding); use the padded "
                             "layout")
        slot = recipe.patch(patched_model, backend=backend, layout="packed")
        patched = PackedSentenceEncoder(patched_model, pooling, slot, recipe.first_position(model.config)).eval()
    else:
        slot = recipe.patch(patched_model, backend=backend)
        patched = _wrap(recipe, patched_model, pooling, slot)
    if dtype != "fp32":
        patched = patched.to(DTYPES[dtype])
    return reference, patched, tokenizer


def tokenize(tokenizer, texts, input_names) -> dict[str, torch.Tensor]:
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=512, return_tensors="pt")
    return {name: enc[name] for name in input_names if name in enc}


def recipe_inputs(recipe, model, tokenizer, texts=None) -> dict[str, torch.Tensor]:
    """Tokenized sentences when the recipe has a tokenizer, else the recipe's example inputs (random ids with
    uneven masks, or pixels) at its default shapes."""
    if tokenizer is not None and (texts or recipe.sample_texts):
        return tokenize(tokenizer, texts or recipe.sample_texts, recipe.input_names)
    return recipe.example_inputs(model.config, recipe.input_names, **recipe.shapes)


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

    _progress(f"loading {recipe.name} (offline) and patching its attention")
    _, patched, tokenizer = build_encoders(recipe, backend=backend, dtype=dtype, layout=layout)
    sample = recipe_inputs(recipe, patched.model, tokenizer, recipe.sample_texts[:2])
    names = tuple(sample)
    args = tuple(sample[n] for n in names)
    input_axes, output_axes = _dynamic_dims(recipe)
    axes = {n: input_axes[n] for n in names} | output_axes
    output_names = list(output_axes)

    _progress(f"exporting with the {exporter} exporter, target {target}, {dtype}, opset {opset} -> {path}")
    start = time.perf_counter()
    with export_target(target), torch.no_grad():
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
    _progress(f"exported in {seconds:.1f} s")
    return ExportResult(path, exporter, target, dtype, opset, seconds, patched.model.config)


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


def check(recipe, onnx_path: Path, *, providers: list[str] | None = None, texts=None) -> CheckReport:
    """Run the exported model in ONNX Runtime and compare with the unmodified PyTorch model (fp32)."""
    from . import ort as eort

    _progress(f"checking {onnx_path} in ONNX Runtime against the unmodified PyTorch model")
    model, tokenizer, pooling = recipe.load()
    reference = _wrap(recipe, model.eval(), pooling)
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
