"""The Recipe type and the registry of supported models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    """name: what users type; load: returns (hf_model, tokenizer_or_None, pooling); patch: swaps attention."""

    name: str
    model_types: tuple[str, ...]
    load: Callable[[], tuple]
    patch: Callable
    input_names: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
    sample_texts: tuple[str, ...] = field(default=())
    description: str = ""


def _registry() -> dict[str, Recipe]:
    from . import minilm

    recipes = [minilm.RECIPE]
    return {r.name.lower(): r for r in recipes}


def recipe_names() -> list[str]:
    return [r.name for r in _registry().values()]


def get_recipe(name: str) -> Recipe:
    registry = _registry()
    recipe = registry.get(name.lower())
    if recipe is None:
        for r in registry.values():
            if name.lower() in r.model_types:
                return r
        raise ValueError(f"no recipe for model {name!r}; supported: {', '.join(recipe_names())}. To add one, write "
                         "models/<family>.py with a Recipe (loader + attention patch) and list it in "
                         "models/recipe.py")
    return recipe
