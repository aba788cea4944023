"""XLM-RoBERTa (`xlm-roberta`): RoBERTa's layout under its own class names."""

from __future__ import annotations

from .roberta import roberta_family

RECIPE = roberta_family("xlm-roberta", "XLMRoberta", {"mode": "mean", "normalize": False},
                        "XLM-RoBERTa from its config (small random weights; or a local checkpoint folder), mean pooling")
load, patch = RECIPE.load, RECIPE.patch
