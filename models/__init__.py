"""Model recipes: how to load a model offline and which of its modules become EncoderOnlyAttention.

A recipe is looked up by name (`get_recipe("all-MiniLM-L6-v2")`) or by the model's `model_type`. To add an
architecture, write a module here with a `Recipe` and add it to RECIPES.
"""

from __future__ import annotations

from .recipe import Recipe, get_recipe, recipe_names

__all__ = ["Recipe", "get_recipe", "recipe_names"]
