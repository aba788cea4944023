"""The modules that are exported: a Hugging Face encoder wrapped with its inputs and pooling.

Text: the attention mask becomes per-sequence lengths inside the graph, the embedding is pooled as the model's
sentence-transformers configuration says. Images: every token valid, no lengths. `build_encoders` returns the
unmodified model (the reference every check compares with) and a deep copy with its attention patched.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
LAYOUTS = ("padded", "packed")


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: dict, pooler_output=None) -> torch.Tensor:
    """The sentence embedding: mean over valid tokens (default), the CLS token, or the model's pooler output
    ("pooler"; a packed model has none and falls back to CLS), L2-normalised when pooling["normalize"]."""
    mode = pooling.get("mode")
    if mode == "pooler" and pooler_output is not None:
        pooled = pooler_output
    elif mode in ("cls", "pooler"):
        pooled = hidden[:, 0]
    else:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    if pooling.get("normalize"):
        pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).to(hidden.dtype)
    return pooled


class SentenceEncoder(nn.Module):
    """input_ids/attention_mask[/token_type_ids] -> (last_hidden_state, pooled embedding).

    The attention mask becomes per-sequence lengths inside the graph (sum over the mask: right padding,
    as tokenizers produce it); the patched layers read them from `slot`. A patched model gets no mask at
    all: its layers never read one, and Hugging Face's 4-D mask building would only add dead graph.
    """

    def __init__(self, model: nn.Module, pooling: dict, slot=None):
        super().__init__()
        self.model = model
        self.pooling = pooling
        self.slot = slot

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kwargs = {"input_ids": input_ids}
        if token_type_ids is not None:  # only models that have token types are given them
            kwargs["token_type_ids"] = token_type_ids
        if self.slot is not None:
            self.slot.value = attention_mask.sum(-1, dtype=torch.int32)
        else:
            kwargs["attention_mask"] = attention_mask
        out = self.model(**kwargs)
        hidden = out.last_hidden_state
        return hidden, pool(hidden, attention_mask, self.pooling, getattr(out, "pooler_output", None))


class PackedSentenceEncoder(SentenceEncoder):
    """The same inputs and outputs, with padding removed once at the input.

    Valid tokens (right padding: row-major order is sequence order) are gathered into one row [1, T], run
    through the model with their in-sequence positions, every attention node in the packed layout with
    cu_seqlens, then scattered back to [B, S, hidden] (zeros at padding) before pooling. `first_position`
    is the family's position id of a sequence's first token (RoBERTa counts from pad_token_id + 1).
    """

    def __init__(self, model: nn.Module, pooling: dict, slot, first_position: int = 0):
        super().__init__(model, pooling, slot)
        self.first_position = first_position

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        batch, seq = input_ids.shape
        lengths = attention_mask.sum(-1, dtype=torch.int32)
        self.slot.value = torch.cat([lengths.new_zeros(1), lengths.cumsum(0, dtype=torch.int32)])
        keep = attention_mask.flatten().nonzero().squeeze(-1)  # [T] flat indices of the valid tokens
        positions = torch.arange(seq, device=input_ids.device).repeat(batch)[keep] + self.first_position
        kwargs = {"input_ids": input_ids.flatten()[keep][None], "position_ids": positions[None]}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids.flatten()[keep][None]
        out = self.model(**kwargs)
        packed = out.last_hidden_state[0]  # [T, hidden]
        hidden = packed.new_zeros(batch * seq, packed.shape[-1]).index_copy(0, keep, packed)
        hidden = hidden.view(batch, seq, -1)
        return hidden, pool(hidden, attention_mask, self.pooling)


class ImageEncoder(nn.Module):
    """pixel_values -> (last_hidden_state, pooler_output). Every patch token is valid: the patched layers get
    no lengths (slot value None), so each node runs over the full sequence without a lengths input."""

    input_name = "pixel_values"

    def __init__(self, model: nn.Module, pooling: dict, slot=None):
        super().__init__()
        self.model = model
        self.pooling = pooling
        self.slot = slot

    def _encode(self, features):
        if self.slot is not None:
            self.slot.value = None
        # The model's input stays float32 as users feed it; an fp16/bf16 export casts it at the graph's entrance
        # (some families' embeddings cast it themselves, others would run a float32 conv on half weights).
        weights = next(self.model.parameters()).dtype
        out = self.model(**{self.input_name: features.to(weights)})
        hidden = out.last_hidden_state
        mode = self.pooling.get("mode")
        if mode == "mean":
            return hidden, hidden.mean(1)
        pooled = getattr(out, "pooler_output", None) if mode == "pooler" else None
        if pooled is None:  # no pooler layer: the CLS token, as the pooler would read it
            pooled = hidden[:, 0]
        return hidden, pooled

    def forward(self, pixel_values):
        return self._encode(pixel_values)


class AudioEncoder(ImageEncoder):
    """input_features (log-mel, a fixed number of frames) -> (last_hidden_state, pooled); every frame valid."""

    input_name = "input_features"

    def forward(self, input_features):
        return self._encode(input_features)


WRAPPERS = {"text": SentenceEncoder, "image": ImageEncoder, "audio": AudioEncoder}


def wrap(recipe, model, pooling, slot=None) -> nn.Module:
    return WRAPPERS[recipe.modality](model, pooling, slot).eval()


def build_encoders(recipe, *, backend: str | None = None, dtype: str = "fp32", layout: str = "padded"):
    """(reference, patched, tokenizer): the unmodified model and a deep copy with its attention swapped.

    layout="packed": the patched model packs tokens once at the input (PackedSentenceEncoder)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose {' or '.join(LAYOUTS)}")
    model, tokenizer, pooling = recipe.load()
    model.eval()
    reference = wrap(recipe, model, pooling)
    # Cast before patching: each attention layer judges its backend against the dtype it will export in.
    patched_model = copy.deepcopy(model).to(DTYPES[dtype])
    if layout == "packed":
        if recipe.first_position is None:
            raise ValueError(f"{recipe.name} has no packed variant (its inputs carry no padding); use the padded "
                             "layout")
        slot = recipe.patch(patched_model, backend=backend, layout="packed")
        patched = PackedSentenceEncoder(patched_model, pooling, slot, recipe.first_position(model.config)).eval()
    else:
        slot = recipe.patch(patched_model, backend=backend)
        patched = wrap(recipe, patched_model, pooling, slot)
    if dtype != "fp32":
        patched = patched.to(DTYPES[dtype])
    return reference, patched, tokenizer
