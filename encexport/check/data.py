"""Feeds for the comparison: valid token ids with uneven lengths (real sentences, then random ids), or images.

Padding follows tokenizers (right padding, mask 0): the attention node turns the mask into lengths, so a
left-padded or holey mask would not be a valid input.
"""

from __future__ import annotations

import numpy as np


def token_feeds(tokenizer, texts, input_names, *, seed: int = 0) -> list[dict[str, np.ndarray]]:
    from ..export import tokenize

    real = {k: v.numpy().astype(np.int64) for k, v in tokenize(tokenizer, texts, input_names).items()}
    rng = np.random.default_rng(seed)
    batch, seq = 3, 23
    lengths = np.array([seq, 7, 1 + rng.integers(2, seq - 1)])
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    vocab = [i for i in range(min(tokenizer.vocab_size, 30000)) if i not in special]
    ids = rng.choice(vocab, size=(batch, seq)) * mask + (tokenizer.pad_token_id or 0) * (1 - mask)
    synthetic = {"input_ids": ids.astype(np.int64), "attention_mask": mask,
                 "token_type_ids": np.zeros((batch, seq), np.int64)}
    return [real, {k: v for k, v in synthetic.items() if k in real}]


def sentence_feeds(tokenizer, texts, input_names) -> list[dict[str, np.ndarray]]:
    """Each sentence alone (batch 1, no padding), then all of them padded together (uneven lengths)."""
    from ..export import tokenize

    def feed(batch):
        return {k: v.numpy().astype(np.int64) for k, v in tokenize(tokenizer, batch, input_names).items()}

    return [feed([text]) for text in texts] + [feed(list(texts))]


def image_feeds(shape=(2, 3, 224, 224), *, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{"pixel_values": rng.standard_normal(shape).astype(np.float32)}]


def valid_token_mask(feed: dict[str, np.ndarray]) -> np.ndarray | None:
    """[B, S] bool of real tokens, for outputs whose padded positions carry no meaning."""
    mask = feed.get("attention_mask")
    return None if mask is None else mask.astype(bool)
