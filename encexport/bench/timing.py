"""CUDA-event timing: warm-up, L2 flushed before every timed call, median of the timed calls."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch

L2_FLUSH_BYTES = 256 << 20  # larger than any Hopper L2 (50-60 MB): every call starts cold


class Timer:
    def __init__(self, warmup: int = 10, iters: int = 50, flush_l2: bool = True):
        self.warmup, self.iters, self.flush_l2 = warmup, iters, flush_l2
        self._flush = torch.empty(L2_FLUSH_BYTES, dtype=torch.uint8, device="cuda") if flush_l2 else None

    def median_us(self, fn: Callable[[], object]) -> float:
        for _ in range(self.warmup):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(self.iters):
            if self._flush is not None:
                self._flush.zero_()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) * 1e3)
        return statistics.median(times)
