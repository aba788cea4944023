"""The Recipe type: how one model family is loaded, patched and fed (the registry is registry.py)."""

from __future__ import annotations

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
    # How its attention reaches the node: "interface" (transformers' attention interface, models/interface.py),
    # "rule" (modules swapped by attention rules), "refused" (patch raises UnsupportedModelError; `note` says why).
    handling: str = "interface"
    note: str = ""
    aliases: tuple[str, ...] = ()  # other names users type for it (hub ids of a shipped model)
    random_weights: bool = False  # load() builds small random weights (checks re-initialise them to a trained scale)
