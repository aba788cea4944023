"""How the benchmark times one call, the way a user's program makes it.

- back to back (the headline): nothing queued on the GPU before the start event, then start event, the call,
  end event, synchronize. A call whose host work outlasts its GPU work is timed by its host work, as its user
  sees it.
- cold L2 (a second column): the 256 MB flush runs and is synchronized *before* the start event, so the flush
  never hides host time behind GPU work.
- host cost: the CPU time per call over a burst of calls that do not wait for the GPU (for ORT, runs with
  ort_peers.Bound.enqueue), i.e. what each call costs the calling thread in steady state. (Timing single calls
  issued to an idle GPU adds a wake-up latency to every implementation alike.)
- graph: the call captured 20 times in a CUDA graph and replayed; device time per call with no host in between
  (the kernel-level table's view, and proof that the call is capture-safe).
Each figure is the median of `iters` timed calls after `warmup` untimed ones.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

L2_FLUSH_BYTES = 256 << 20  # larger than any Hopper L2 (50-60 MB)
GRAPH_CALLS = 10  # calls per captured graph: enough to amortise the replay launch


class Timer:
    def __init__(self, warmup: int = 10, iters: int = 50):
        self.warmup, self.iters = warmup, iters
        self._flush: torch.Tensor | None = None

    def _warm(self, fn: Callable[[], object]) -> None:
        for _ in range(self.warmup):
            fn()
        torch.cuda.synchronize()

    def _events(self, fn: Callable[[], object], before: Callable[[], None] | None = None) -> float:
        times = []
        for _ in range(self.iters):
            if before is not None:
                before()
            torch.cuda.synchronize()  # nothing queued before the start event
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) * 1e3)
        return statistics.median(times)

    def back_to_back_us(self, fn: Callable[[], object]) -> float:
        self._warm(fn)
        return self._events(fn)

    def cold_l2_us(self, fn: Callable[[], object]) -> float:
        if self._flush is None:
            self._flush = torch.empty(L2_FLUSH_BYTES, dtype=torch.uint8, device="cuda")
        self._warm(fn)
        return self._events(fn, before=self._flush.zero_)

    def host_us(self, fn: Callable[[], object], burst: int = 20) -> float:
        """CPU time per call, median over bursts of `burst` calls (fn must not wait for the GPU)."""
        self._warm(fn)
        times = []
        for _ in range(max(1, self.iters // burst)):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(burst):
                fn()
            times.append((time.perf_counter() - t0) * 1e6 / burst)
        torch.cuda.synchronize()
        return statistics.median(times)

    def graph_us(self, fn: Callable[[], object]) -> float:
        """Device time per call from CUDA-graph replays of GRAPH_CALLS captured calls (raises if not capturable)."""
        self._warm(fn)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.stream(stream), torch.cuda.graph(graph, stream=stream):
            for _ in range(GRAPH_CALLS):
                fn()
        torch.cuda.synchronize()
        graph.replay()
        torch.cuda.synchronize()
        per_call = self._events(graph.replay) / GRAPH_CALLS
        del graph
        return per_call


def device_memory_mib(build_and_run: Callable[[], object]) -> float:
    """GPU memory the device reports in use after building and running a peer, less what was in use before
    (covers ORT's arena and cuDNN's workspaces, which torch's allocator statistics do not see)."""
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    free_before, _ = torch.cuda.mem_get_info()
    keep = build_and_run()
    torch.cuda.synchronize()
    free_after, _ = torch.cuda.mem_get_info()
    del keep
    return (free_before - free_after) / 2**20
