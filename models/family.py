"""One way to make a recipe for a Hugging Face encoder family built from its config.

`load()` builds the family's model with small seeded random weights (tests, benchmarks: no download);
`load_checkpoint(path)` loads a local folder instead; `patch(model)` swaps the layers named by the family's
attention rules. Each family module supplies only what differs: its config, rules, pooling and inputs.
"""

from __future__ import annotations

from .loading import SAMPLE_TEXTS, SMALL, from_checkpoint, seeded_model
from .patching import AttentionRule, patch_attention
from .recipe import Recipe


def family_recipe(*, name: str, model_class: str, config_class: str, rules: tuple[AttentionRule, ...], pooling: dict,
                  description: str, config_fields: dict | None = None, tokenizer: bool = True, **fields) -> Recipe:
    """model_class / config_class: the transformers class names (imported lazily); config_fields: what the family's
    small config sets beyond the SMALL sizes; fields: any other Recipe field. `load(**overrides)` builds a variant."""

    def config(**overrides):
        import transformers

        return getattr(transformers, config_class)(**(SMALL | (config_fields or {}) | overrides))

    def load(**config_overrides):
        import transformers

        return seeded_model(getattr(transformers, model_class), config(**config_overrides)), None, dict(pooling)

    def load_checkpoint(path):
        return from_checkpoint(path, pooling, tokenizer=tokenizer)

    def patch(model, **kwargs):
        return patch_attention(model, rules, model.config.num_attention_heads, **kwargs)

    if fields.get("modality", "text") == "text":
        fields.setdefault("sample_texts", SAMPLE_TEXTS)
    fields.setdefault("model_types", (name,))
    return Recipe(name=name, load=load, load_checkpoint=load_checkpoint, patch=patch, description=description,
                  **fields)
