"""Inputs for a recipe's model: tokenised sentences, or the recipe's own example inputs."""

from __future__ import annotations

import torch


def tokenize(tokenizer, texts, input_names) -> dict[str, torch.Tensor]:
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=512, return_tensors="pt")
    return {name: enc[name] for name in input_names if name in enc}


def recipe_inputs(recipe, model, tokenizer, texts=None) -> dict[str, torch.Tensor]:
    """Tokenized sentences when the recipe has a tokenizer, else the recipe's example inputs (random ids with
    uneven masks, or pixels) at its default shapes."""
    if tokenizer is not None and (texts or recipe.sample_texts):
        return tokenize(tokenizer, texts or recipe.sample_texts, recipe.input_names)
    return recipe.example_inputs(model.config, recipe.input_names, **recipe.shapes)
