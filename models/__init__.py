"""Model recipes (installed as `encexport.models`): how to load a model offline and which of its modules become EncoderOnlyAttention.

A recipe is looked up by name (`get_recipe("all-MiniLM-L6-v2")`), by the model's `model_type`
(`get_recipe("distilbert")`), or from a local checkpoint folder (`get_recipe("/path/with/config.json")`).
A local checkpoint of a family without a recipe goes through transformers' attention interface (interface.py,
generic.py). A family that keeps its own attention code needs a module here with a `Recipe` and attention rules
(one module per family, shared pieces in patching.py and loading.py), listed in registry.py.
"""

from __future__ import annotations

from .patching import UnsupportedModelError
from .recipe import Recipe
from .registry import get_recipe, recipe_names, recipes

__all__ = ["Recipe", "UnsupportedModelError", "get_recipe", "recipe_names", "recipes"]
