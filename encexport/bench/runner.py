"""Runs every implementation on every shape in one process, at two levels, and collects the rows.

- kernel level: our kernels called directly (the library's test entry point, the code path both adapters run)
  next to torch SDPA (each fused backend) and torch varlen_attn;
- runtime level: our node inside an ONNX Runtime CUDA session next to ORT's own attention ops in sessions
  (MultiHeadAttention, PackedMultiHeadAttention, ONNX Attention-23), all bound the same way (io_binding).

Every peer gets its best input form: dense shapes run without any mask (ours without lengths), ragged batches
with key lengths (ours: seq_lens; MultiHeadAttention: 1-D key lengths) or packed tokens. `auto` is timed next to
every kernel family forced, at both levels, so the benchmark checks the dispatcher's choice.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from .inputs import Inputs, make_inputs
from .ort_peers import ort_peers, ours_via_ort
from .shapes import Shape, default_shapes
from .timing import Timer, device_memory_mib
from .torch_peers import torch_peers

LEVELS = ("kernel", "runtime")
# `auto` counts as right when it is within this factor of the fastest family of the same layout (timing noise).
AUTO_SLACK = 1.10


@dataclass(frozen=True)
class Ours:
    """One of our rows: `auto` or a kernel family forced, in one layout (row_blocks: flash tiling, 0 = rule)."""
    level: str
    backend: str
    layout: str
    row_blocks: int = 0

    @property
    def name(self) -> str:
        what = "auto" if self.backend == "auto" else self.backend
        if self.row_blocks:
            what += f" m{64 * self.row_blocks}"
        return f"encexport {what} ({'direct' if self.level == 'kernel' else 'ORT node'}, {self.layout})"


OURS = [Ours("kernel", "auto", "padded"), Ours("kernel", "auto", "packed"),
        Ours("kernel", "hopper", "padded"), Ours("kernel", "hopper", "packed"),
        Ours("kernel", "flash", "padded", 1), Ours("kernel", "flash", "padded", 2), Ours("kernel", "cudnn", "padded"),
        Ours("kernel", "flash", "packed", 1), Ours("kernel", "flash", "packed", 2),
        # Through ORT the tiling cannot be forced (the ORT library holds its own dispatcher state).
        Ours("runtime", "auto", "padded"), Ours("runtime", "auto", "packed"),
        Ours("runtime", "hopper", "padded"), Ours("runtime", "hopper", "packed"),
        Ours("runtime", "flash", "padded"), Ours("runtime", "cudnn", "padded"), Ours("runtime", "flash", "packed")]
OURS_BY_NAME = {o.name: o for o in OURS}


@dataclass
class Row:
    level: str
    shape: str
    dtype: str
    impl: str
    us: float | None  # back to back: the headline figure
    tflops: float | None
    max_abs_diff: float | None  # vs the first implementation of the same level on valid tokens
    note: str = ""
    cold_us: float | None = None  # L2 flushed (and synchronized) before the start event
    host_us: float | None = None  # CPU time of one call with the GPU idle
    graph_us: float | None = None  # kernel level: device time per call from CUDA-graph replays
    mem_mib: float | None = None  # device memory in use after building and running it

    @property
    def ours(self) -> bool:
        return self.impl in OURS_BY_NAME


def _ours_direct(inp: Inputs, o: Ours, used: list) -> Callable[[], torch.Tensor]:
    from .. import _testapi

    s = inp.shape
    if o.layout == "padded":
        args = (inp.q, inp.k, inp.v, inp.seq_lens if s.ragged else None)
        out = torch.empty_like(inp.q)
    else:
        args = (inp.q_packed, inp.k_packed, inp.v_packed, inp.cu_seqlens)
        out = torch.empty_like(inp.q_packed)
    kw = dict(num_heads=s.heads, num_kv_heads=s.kv_heads, head_size=s.head_size, scale=inp.scale, layout=o.layout,
              backend=o.backend, out=out)

    def run():
        return _testapi.attention(*args, **kw)[0]

    used.append(_testapi.attention(*args, **kw)[1])
    return run


def _tiling(row_blocks: int):
    """Force the flash tiling of the direct calls within the block (0: leave the dispatcher's rule)."""
    from .. import _testapi

    return _testapi.flash_tiling(row_blocks) if row_blocks else contextlib.nullcontext()


def _builders(inp: Inputs, level: str, used: dict) -> dict[str, tuple[Callable, int]]:
    """name -> (builder, flash row blocks to force); a builder returns the call to time, or raises."""
    out: dict[str, tuple[Callable, int]] = {}
    for o in OURS:
        if o.level != level:
            continue
        used[o.name] = []
        if level == "kernel":
            out[o.name] = ((lambda o=o: _ours_direct(inp, o, used[o.name])), o.row_blocks)
        else:
            out[o.name] = ((lambda o=o: ours_via_ort(inp, o.layout, o.backend, used[o.name])), 0)
    peers = torch_peers(inp) if level == "kernel" else ort_peers(inp)
    out.update({name: (build, 0) for name, build in peers.items()})
    return out


def _valid_rows(out: torch.Tensor, inp: Inputs) -> torch.Tensor:
    return out if out.dim() == 2 else out[inp.key_valid]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def _measure(level: str, build: Callable, inp: Inputs, timer: Timer) -> tuple[dict, torch.Tensor]:
    holder = {}

    def build_and_run():
        holder["fn"] = build()
        return holder["fn"]()

    mem = device_memory_mib(build_and_run)
    fn = holder["fn"]
    out = _valid_rows(fn(), inp).float()
    figures = {"us": timer.back_to_back_us(fn), "cold_us": timer.cold_l2_us(fn), "mem_mib": mem,
               "host_us": timer.host_us(getattr(fn, "enqueue", fn))}
    if level == "kernel":
        try:
            figures["graph_us"] = timer.graph_us(fn)
        except Exception as exc:  # noqa: BLE001 - reported: a call that cannot be captured
            figures["note"] = f"not capturable: {_first_line(exc)}"
            torch.cuda.synchronize()
    return figures, out


def run_benchmark(shapes: list[Shape] | None = None, dtypes=(torch.float16, torch.bfloat16), iters: int = 50,
                  levels=LEVELS, log=print) -> list[Row]:
    rows: list[Row] = []
    for shape in shapes or default_shapes():
        for dtype in dtypes:
            dname = str(dtype).replace("torch.", "")
            inp = make_inputs(shape, dtype)
            for level in levels:
                # ORT is noisier per call than a direct launch: more samples at the runtime level.
                timer = Timer(iters=iters if level == "kernel" else 4 * iters)
                used: dict[str, list] = {}
                baseline = None
                for impl, (build, row_blocks) in _builders(inp, level, used).items():
                    try:
                        with _tiling(row_blocks):
                            figures, out = _measure(level, build, inp, timer)
                        baseline = out if baseline is None else baseline
                        note = figures.pop("note", "")
                        if used.get(impl):
                            note = f"ran {used[impl][-1]}" + (f"; {note}" if note else "")
                        row = Row(level, shape.name, dname, impl, tflops=shape.flops() / figures["us"] / 1e6,
                                  max_abs_diff=float((out - baseline).abs().max()), note=note, **figures)
                        log(f"[bench] {level:7s} {shape.name:22s} {dname:9s} {impl:34s} {row.us:9.1f} us "
                            f"(host {row.host_us:6.1f}) {row.tflops:7.1f} TFLOP/s")
                    except Exception as exc:  # a peer that cannot run this problem is reported, not fatal
                        row = Row(level, shape.name, dname, impl, None, None, None, _first_line(exc))
                        log(f"[bench] {level:7s} {shape.name:22s} {dname:9s} {impl:34s} n/a: {row.note}")
                    rows.append(row)
                    gc.collect()
                    torch.cuda.empty_cache()
    return rows


def _group_keys(rows: list[Row], level: str) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r.shape, r.dtype) for r in rows if r.level == level))


def summarize(rows: list[Row], level: str) -> list[dict]:
    """Per (shape, dtype) at one level: our best, the best peer, the ratio (peer time / our time, back to back),
    the host cost of `auto` and of the best peer, and the `auto` check."""
    out = []
    for shape, dtype in _group_keys(rows, level):
        group = [r for r in rows if (r.level, r.shape, r.dtype) == (level, shape, dtype) and r.us is not None]
        ours = [r for r in group if r.ours]
        peers = [r for r in group if not r.ours]
        if not ours or not peers:
            continue
        best_ours = min(ours, key=lambda r: r.us)
        best_peer = min(peers, key=lambda r: r.us)
        auto_padded = next((r for r in ours if OURS_BY_NAME[r.impl] == Ours(level, "auto", "padded")), None)
        out.append({"level": level, "shape": shape, "dtype": dtype, "ours": best_ours.impl, "ours_us": best_ours.us,
                    "ours_cold_us": best_ours.cold_us, "ours_tflops": best_ours.tflops,
                    "best_peer": best_peer.impl, "peer_us": best_peer.us, "peer_cold_us": best_peer.cold_us,
                    "peer_tflops": best_peer.tflops, "ratio": best_peer.us / best_ours.us,
                    "ours_host_us": auto_padded.host_us if auto_padded else None,
                    "peer_host_us": best_peer.host_us, "auto": auto_checks(group, level)})
    return out


def auto_checks(group: list[Row], level: str) -> list[dict]:
    """Per layout: what `auto` ran, its time, and the fastest forced family (the dispatch rule's check)."""
    checks = []
    for layout in ("padded", "packed"):
        auto = next((r for r in group if OURS_BY_NAME.get(r.impl) == Ours(level, "auto", layout)), None)
        families = [r for r in group if r.impl in OURS_BY_NAME and OURS_BY_NAME[r.impl].backend != "auto"
                    and OURS_BY_NAME[r.impl].layout == layout]
        if auto is None or not families:
            continue
        best = min(families, key=lambda r: r.us)
        checks.append({"layout": layout, "ran": auto.note.removeprefix("ran ").split(";")[0], "auto_us": auto.us,
                       "fastest": best.impl, "fastest_us": best.us, "ok": auto.us <= AUTO_SLACK * best.us})
    return checks


def rows_as_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(r) for r in rows]


def rows_from_dicts(dicts: list[dict]) -> list[Row]:
    return [Row(**d) for d in dicts]


if __name__ == "__main__":
    run_benchmark(log=lambda m: print(m, file=sys.stderr))
