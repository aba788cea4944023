"""The registry of supported models: the one way the rest of encexport reaches a recipe.

Every family module is imported here and nowhere else; families import only recipe.py, family.py and the
shared pieces, so the registry sits on top and nothing imports back into it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from . import bert, distilbert, minilm, modernbert, roberta, vit, xlm_roberta
from .recipe import Recipe


def _registry() -> dict[str, Recipe]:
    recipes = [minilm.RECIPE, bert.RECIPE, roberta.RECIPE, xlm_roberta.RECIPE, distilbert.RECIPE, vit.RECIPE,
               modernbert.RECIPE]
    return {r.name.lower(): r for r in recipes}


def recipe_names() -> list[str]:
    return [r.name for r in _registry().values()]


def _unknown(what: str) -> ValueError:
    return ValueError(f"no recipe for {what}; supported: {', '.join(recipe_names())} (or a local checkpoint folder "
                      "of one of these families). To add one, write models/<family>.py with a Recipe (loader + "
                      "attention patch rules) and list it in models/registry.py")


def _from_folder(path: Path) -> Recipe:
    """A local Hugging Face checkpoint: the family recipe of its model_type, loading that folder offline."""
    config = path / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type", "")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ValueError(f"{config} is not a valid Hugging Face config (JSON object with model_type): {exc}") from exc
    family = next((r for r in _registry().values() if model_type in r.model_types and r.load_checkpoint), None)
    if family is None:
        raise _unknown(f"model_type {model_type!r} (from {path / 'config.json'})")
    return dataclasses.replace(family, name=str(path), load=functools.partial(family.load_checkpoint, path))


def get_recipe(name: str) -> Recipe:
    """By recipe name, by Hugging Face model_type, or from a local checkpoint folder holding config.json."""
    registry = _registry()
    recipe = registry.get(name.lower())
    if recipe is not None:
        return recipe
    if (Path(name) / "config.json").is_file():
        return _from_folder(Path(name))
    for r in registry.values():
        if name.lower() in r.model_types:
            return r
    raise _unknown(f"model {name!r}")
