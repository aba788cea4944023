"""The Recipe type and the registry of supported models."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .loading import random_text_inputs

TEXT_OUTPUTS = ("last_hidden_state", "sentence_embedding")


@dataclass(frozen=True)
class Recipe:
    """How one model family is loaded, patched and fed.

    name: what users type; model_types: Hugging Face `model_type`s it covers; load: returns
    (hf_model, tokenizer_or_None, pooling); patch(model, backend=, layout=) swaps attention and returns the
    lengths slot (layout="packed" for the packed variant); load_checkpoint(path): the same loader for a local checkpoint folder (None: fixed model).
    Without a tokenizer, `example_inputs(config, input_names, **shapes)` makes the inputs.
    """

    name: str
    model_types: tuple[str, ...]
    load: Callable[[], tuple]
    patch: Callable
    input_names: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
    sample_texts: tuple[str, ...] = field(default=())
    description: str = ""
    modality: str = "text"  # "text": right-padded tokens with a mask; "image": every token valid, no mask
    output_names: tuple[str, ...] = TEXT_OUTPUTS
    example_inputs: Callable[..., dict] = random_text_inputs
    shapes: dict = field(default_factory=lambda: {"batch": 3, "seq": 12})
    load_checkpoint: Callable[[Path], tuple] | None = None
    # Position id of a sequence's first token, from the config (packed variant; None: no packed variant).
    first_position: Callable[[object], int] | None = lambda config: 0


def _registry() -> dict[str, Recipe]:
    from . import bert, distilbert, minilm, modernbert, roberta, vit, xlm_roberta

    recipes = [minilm.RECIPE, bert.RECIPE, roberta.RECIPE, xlm_roberta.RECIPE, distilbert.RECIPE, vit.RECIPE,
               modernbert.RECIPE]
    return {r.name.lower(): r for r in recipes}


def recipe_names() -> list[str]:
    return [r.name for r in _registry().values()]


def _unknown(what: str) -> ValueError:
    return ValueError(f"no recipe for {what}; supported: {', '.join(recipe_names())} (or a local checkpoint folder "
                      "of one of these families). To add one, write models/<family>.py with a Recipe (loader + "
                      "attention patch rules) and list it in models/recipe.py")


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
