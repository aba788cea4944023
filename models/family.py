"""One way to make a recipe for a Hugging Face encoder family built from its config.

`load()` builds the family's model with small seeded random weights (tests, benchmarks: no download);
`load_checkpoint(path)` loads a local folder instead; `patch(model)` routes its attention to the node: through
transformers' attention interface (models/interface.py) when the family gives no rules, else by swapping the
modules its attention rules name. Each family module supplies only what differs: its config, pooling, inputs
(and rules where the interface cannot express the family).
"""

from __future__ import annotations

import importlib

from .interface import patch_generic
from .loading import SAMPLE_TEXTS, SMALL, from_checkpoint, random_text_inputs, seeded_model
from .patching import AttentionRule, patch_attention
from .recipe import Recipe

# The dry run of the generic path: a batch of two, uneven lengths.
DRY_RUN_SHAPES = {"batch": 2, "seq": 6}


def transformers_class(name: str):
    """`BertModel` from transformers' top level, or a dotted path inside transformers (`models.whisper....`)."""
    import transformers

    if "." not in name:
        return getattr(transformers, name)
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(f"transformers.{module}"), attr)


def dry_run_inputs(model, input_names, example_inputs):
    """Small inputs for `model`: floating ones (pixels, audio features) in the model's own dtype, since the model is
    patched after its cast to the export dtype."""
    if example_inputs is random_text_inputs:
        return random_text_inputs(model.config, input_names, **DRY_RUN_SHAPES)
    dtype = next(model.parameters()).dtype
    inputs = example_inputs(model.config, input_names, batch=DRY_RUN_SHAPES["batch"])
    return {n: t.to(dtype) if t.is_floating_point() else t for n, t in inputs.items()}


def generic_patch(input_names, example_inputs):
    """patch(model, backend=, layout=) through the attention interface, dry-run on the family's example inputs."""

    def patch(model, **kwargs):
        return patch_generic(model, dry_run=lambda m: m(**dry_run_inputs(m, input_names, example_inputs)),
                             **kwargs)

    return patch


def family_recipe(*, name: str, pooling: dict, description: str, classes: str | None = None,
                  model_class: str | None = None, config_class: str | None = None,
                  rules: tuple[AttentionRule, ...] | None = None, config_fields: dict | None = None,
                  tokenizer: bool = True, checkpoint_class: str = "AutoModel", **fields) -> Recipe:
    """classes: the transformers class prefix (<classes>Model, <classes>Config), or model_class / config_class (names
    imported lazily); config_fields: what the family's
    small config sets beyond the SMALL sizes; rules: None for the attention interface; fields: any other Recipe
    field (`patch` for a family that patches its own way). `load(**overrides)` builds a variant."""

    model_class = model_class or f"{classes}Model"
    config_class = config_class or f"{classes}Config"

    def config(**overrides):
        return transformers_class(config_class)(**(SMALL | (config_fields or {}) | overrides))

    def load(**config_overrides):
        return seeded_model(transformers_class(model_class), config(**config_overrides)), None, dict(pooling)

    def load_checkpoint(path):
        return from_checkpoint(path, pooling, tokenizer=tokenizer, auto_cls=checkpoint_class)

    if "patch" in fields:  # a family that patches its own way (DeBERTa swaps its attention class)
        patch = fields.pop("patch")
        fields.setdefault("handling", "rule")
    elif rules is None:
        patch = generic_patch(fields.get("input_names", Recipe.input_names),
                              fields.get("example_inputs", random_text_inputs))
        fields.setdefault("handling", "interface")
    else:
        def patch(model, **kwargs):
            return patch_attention(model, rules, model.config.num_attention_heads, **kwargs)

        fields.setdefault("handling", "rule")
    if fields.get("modality", "text") == "text":
        fields.setdefault("sample_texts", SAMPLE_TEXTS)
    fields.setdefault("model_types", (name,))
    fields.setdefault("random_weights", True)
    return Recipe(name=name, load=load, load_checkpoint=load_checkpoint, patch=patch, description=description,
                  **fields)
