"""Per-attention-layer check: the patched model against the unmodified one, layer by layer, at a trained scale.

A sentence-level comparison on small random weights can pass a wrong export: with weights at initialisation
scale the attention is nearly uniform and a dropped relative position bias moves the embedding by little. This
check makes the difference visible:

- weights at the scale of a trained checkpoint (`trained_like`: projections at 1/sqrt(fan_in), so attention is
  peaked; relative position tables at the spread trained models reach), for models with random weights;
- a padded batch of uneven lengths (three rows, each of another length);
- forward hooks on every module whose attention the node runs (the recipe's patch names them) in both models,
  each call compared on valid tokens, then the final embedding.
The first layer that differs is named, so a missing bias or mask is found where it enters.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch

from ..export.encoders import wrap

# Max |error| over valid tokens, relative to the reference output's largest magnitude.
LAYER_TOLERANCE = 1e-4
# Parameters holding relative position biases (added to scores as they are): trained ones spread by units.
BIAS_TABLES = ("relative_attention_bias", "relative_position_bias_table")


def trained_like(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Re-initialise `model` in place to a trained checkpoint's statistics (deterministic for `seed`)."""
    gen = torch.Generator().manual_seed(seed)

    def normal(p, std, mean=0.0):
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=gen) * std + mean)

    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if any(t in name for t in BIAS_TABLES):
            normal(p, 2.0)
        elif "norm" in name.lower() and leaf == "weight":
            normal(p, 0.1, 1.0)
        elif p.dim() >= 2 and "embed" not in name.lower():
            normal(p, 1.0 / math.sqrt(p[0].numel()))
        elif p.dim() >= 2:
            normal(p, 0.5)
        else:
            normal(p, 0.05)
    return model


@dataclass
class LayerRow:
    module: str
    call: int
    max_abs: float
    scale: float

    @property
    def passed(self) -> bool:
        return self.max_abs <= LAYER_TOLERANCE * max(1.0, self.scale)


@dataclass
class LayersReport:
    rows: list[LayerRow] = field(default_factory=list)
    embedding_max_abs: float = 0.0
    lengths: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows) and self.embedding_max_abs <= LAYER_TOLERANCE

    def first_failure(self) -> LayerRow | None:
        return next((r for r in self.rows if not r.passed), None)

    def lines(self) -> list[str]:
        lines = [f"layers checked       {len(self.rows)} attention calls, lengths {self.lengths}"]
        worst = max(self.rows, key=lambda r: r.max_abs / max(1.0, r.scale), default=None)
        if worst is not None:
            lines.append(f"layer max |err|      {worst.max_abs:.3e} ({worst.module}, scale {worst.scale:.2g})")
        bad = self.first_failure()
        if bad is not None:
            lines.append(f"first wrong layer    {bad.module} (call {bad.call}): max |err| {bad.max_abs:.3e}")
        lines.append(f"embedding max |err|  {self.embedding_max_abs:.3e} (trained-scale weights)")
        return lines


def _inputs(recipe, config) -> dict:
    if recipe.modality == "text":
        return recipe.example_inputs(config, recipe.input_names, batch=3, seq=16, seed=5)
    return recipe.example_inputs(config, recipe.input_names, batch=2, seed=5)


def _record(model, names, store):
    handles = []
    for name in names:
        module = model.get_submodule(name)

        def hook(_module, _args, output, name=name):
            out = output[0] if isinstance(output, tuple) else output
            store.setdefault(name, []).append(out.detach().float())

        handles.append(module.register_forward_hook(hook))
    return handles


def check_layers(recipe, *, patch=None, weights: str = "auto") -> LayersReport:
    """Compare every attention call of the patched model with the unmodified model's.

    patch(model) -> slot replaces the recipe's patch (tests use it to patch a model wrongly); weights: "trained"
    re-initialises to a trained scale, "as-loaded" keeps the loaded weights, "auto" re-initialises models built
    with random weights only."""
    model, _, pooling = recipe.load()
    if weights == "trained" or (weights == "auto" and recipe.random_weights):
        trained_like(model)
    model.eval()
    patched_model = copy.deepcopy(model)
    slot = (patch or recipe.patch)(patched_model)
    names = tuple(getattr(slot, "attention_modules", ()))
    if not names:
        raise ValueError(f"{recipe.name}: the patch names no attention module to compare")
    reference, patched = wrap(recipe, model, pooling), wrap(recipe, patched_model, pooling, slot)
    inputs = _inputs(recipe, model.config)
    mask = inputs.get("attention_mask")
    expected, got = {}, {}
    handles = _record(model, names, expected) + _record(patched_model, names, got)
    try:
        with torch.no_grad():
            _, ref_embedding = reference(**inputs)
            _, embedding = patched(**inputs)
    finally:
        for h in handles:
            h.remove()
    report = LayersReport(lengths=mask.sum(-1).tolist() if mask is not None else [])
    for name in names:
        for call, (e, g) in enumerate(zip(expected.get(name, []), got.get(name, []))):
            valid = mask.bool() if mask is not None and e.dim() == 3 else torch.ones(e.shape[:2], dtype=torch.bool)
            diff = (e - g).abs()[valid]
            report.rows.append(LayerRow(name, call, float(diff.max()), float(e.abs()[valid].max())))
    report.embedding_max_abs = float((embedding.float() - ref_embedding.float()).abs().max())
    return report


def layer_check(recipe, report: dict | None = None) -> int:
    """What `encexport export` runs after its sentence-level check: prints the per-layer lines and PASS/FAIL,
    records `layers_passed` in `report`; returns the exit status (0 passed, 1 failed)."""
    layers = check_layers(recipe)
    for line in layers.lines():
        print(line)
    print(f"{'PASS' if layers.passed else 'FAIL'}: every attention layer against the unmodified model")
    if report is not None:
        report["layers_passed"] = layers.passed
    return 0 if layers.passed else 1
