"""The registry of supported models: the one way the rest of encexport reaches a recipe.

Every family module is imported here and nowhere else; families import only recipe.py, family.py and the
shared pieces, so the registry sits on top and nothing imports back into it.

Names: a recipe name (`bert`), an alias (the hub id of a shipped model: `sentence-transformers/all-MiniLM-L6-v2`),
a Hugging Face model_type, or a local checkpoint folder. A folder of a family without a recipe goes through
transformers' attention interface (generic.py); a path or hub id that is neither a folder nor a shipped model is
"not found" (nothing is downloaded).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from . import (albert, beit, bert, camembert, clip, deberta_v2, distilbert, electra, generic, minilm, modernbert, mpnet,
               roberta, t5, vit, whisper, xlm_roberta)
from .recipe import Recipe


def _registry() -> dict[str, Recipe]:
    recipes = [minilm.RECIPE, bert.RECIPE, roberta.RECIPE, xlm_roberta.RECIPE, distilbert.RECIPE, electra.RECIPE,
               camembert.RECIPE, albert.RECIPE, mpnet.RECIPE, deberta_v2.RECIPE, modernbert.RECIPE, t5.RECIPE,
               vit.RECIPE, beit.RECIPE, clip.VISION, clip.TEXT, whisper.RECIPE]
    return {r.name.lower(): r for r in recipes}


def recipes() -> list[Recipe]:
    return list(_registry().values())


def recipe_names() -> list[str]:
    return [r.name for r in _registry().values()]


def _unknown(what: str) -> ValueError:
    return ValueError(f"no recipe for {what}; supported: {', '.join(recipe_names())}, or a local checkpoint folder "
                      "of any model whose attention goes through transformers' attention interface. To add a family "
                      "that keeps its own attention code, write models/<family>.py with a Recipe (loader + attention "
                      "patch rules) and list it in models/registry.py")


def _from_folder(path: Path) -> Recipe:
    """A local Hugging Face checkpoint: the family recipe of its model_type, else the generic recipe."""
    config = path / "config.json"
    try:
        fields = json.loads(config.read_text())
        model_type = fields.get("model_type", "")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ValueError(f"{config} is not a valid Hugging Face config (JSON object with model_type): {exc}") from exc
    family = next((r for r in _registry().values() if model_type in r.model_types and r.load_checkpoint), None)
    if family is None:
        return generic.checkpoint_recipe(path, fields)
    return dataclasses.replace(family, name=str(path), load=functools.partial(family.load_checkpoint, path),
                               random_weights=False)


def _looks_like_a_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "/" in name or "\\" in name


def get_recipe(name: str) -> Recipe:
    """By recipe name or alias, by Hugging Face model_type, or from a local checkpoint folder holding config.json."""
    registry = _registry()
    key = name.lower()
    recipe = registry.get(key) or next((r for r in registry.values() if key in (a.lower() for a in r.aliases)), None)
    if recipe is not None:
        return recipe
    path = Path(name).expanduser()
    if (path / "config.json").is_file():
        return _from_folder(path)
    if path.is_dir():
        raise FileNotFoundError(f"not found: {name} has no config.json (a Hugging Face checkpoint folder holds "
                                "config.json and the weights)")
    for r in registry.values():
        if key in r.model_types:
            return r
    if _looks_like_a_path(name):
        raise FileNotFoundError(f"not found: {name} is no local folder and no model shipped with encexport "
                                f"({', '.join(a for r in registry.values() for a in r.aliases)}); nothing is "
                                "downloaded: save the model locally (save_pretrained) and pass its folder")
    raise _unknown(f"model {name!r}")
