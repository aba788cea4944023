"""The benchmark's problem set: the encoder shapes users run, long sequences, GQA, and ragged batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Shape:
    name: str
    batch: int
    heads: int
    kv_heads: int
    seq: int  # padded length (max of the lengths for ragged batches)
    head_size: int
    lengths: tuple[int, ...] | None = None  # ragged batches only

    @property
    def ragged(self) -> bool:
        return self.lengths is not None

    def valid_lengths(self) -> list[int]:
        return list(self.lengths) if self.lengths else [self.seq] * self.batch

    def flops(self) -> float:
        """4 * H * D * sum(L^2): two matmuls over the valid tokens only (effective FLOPs)."""
        return 4.0 * self.heads * self.head_size * sum(L * L for L in self.valid_lengths())

    def min_bytes(self, elem_size: int = 2) -> float:
        """Bytes a perfect kernel must move: read q, k, v once, write out once (valid tokens)."""
        tokens = sum(self.valid_lengths())
        return elem_size * tokens * self.head_size * (2 * self.heads + 2 * self.kv_heads)


def ragged_lengths(batch: int, low: int, high: int, seed: int = 0) -> tuple[int, ...]:
    """Log-normal lengths around 64 (numpy default_rng(seed), normal(log 64, 0.9)), rounded and clipped."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(np.exp(rng.normal(np.log(64), 0.9, size=batch))), low, high).astype(int)
    return tuple(int(x) for x in lengths)


def default_shapes() -> list[Shape]:
    shapes = [
        Shape("MiniLM", 64, 12, 12, 128, 32),
        Shape("BERT-base S128", 32, 12, 12, 128, 64),
        Shape("BERT-base S512", 32, 12, 12, 512, 64),
        Shape("ViT-L", 64, 16, 16, 257, 64),
        Shape("BERT-large S512 D80", 16, 16, 16, 512, 80),
        Shape("S1024 D96", 8, 16, 16, 1024, 96),
        Shape("long S8192 D64", 4, 16, 16, 8192, 64),
        Shape("long S8192 D128", 2, 16, 16, 8192, 128),
        Shape("D256 S4096", 4, 8, 8, 4096, 256),
        Shape("GQA 32q/8kv S2048", 4, 32, 8, 2048, 128),
        Shape("GQA 32q/8kv S256", 32, 32, 8, 256, 128),  # short GQA: one item serves a group's 4 heads
    ]
    for name, b, h, d, lo, hi in (("ragged B64 D64", 64, 12, 64, 16, 512), ("ragged B256 D32", 256, 12, 32, 8, 256),
                                  ("ragged B32 D64", 32, 16, 64, 64, 2048)):
        lens = ragged_lengths(b, lo, hi)
        shapes.append(Shape(name, b, h, h, max(lens), d, lens))
    return shapes
