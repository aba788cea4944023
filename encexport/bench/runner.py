"""Runs every implementation on every shape in one process and collects the table."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import asdict, dataclass

import torch

from .inputs import Inputs, make_inputs
from .ort_peers import ort_peers, ours_via_ort
from .shapes import Shape, default_shapes
from .timing import Timer
from .torch_peers import torch_peers

# `auto` through the kernel library directly and through ONNX Runtime ...
AUTO = ("encexport (direct, padded)", "encexport (direct, packed)", "encexport via ORT (padded)",
        "encexport via ORT (packed)")
# ... and each kernel family forced, so that the benchmark can check the `auto` choice against them.
# (backend, layout, flash row blocks: 1 = 64-row tiles, 2 = 128-row tiles, 0 = not flash)
FAMILIES = {"encexport flash m64 (direct, padded)": ("flash", "padded", 1),
            "encexport flash m128 (direct, padded)": ("flash", "padded", 2),
            "encexport cudnn (direct, padded)": ("cudnn", "padded", 0),
            "encexport flash m64 (direct, packed)": ("flash", "packed", 1),
            "encexport flash m128 (direct, packed)": ("flash", "packed", 2)}
OURS = AUTO + tuple(FAMILIES)
# `auto` counts as right when it is within this factor of the fastest family of the same layout (timing noise).
AUTO_SLACK = 1.10


@dataclass
class Row:
    shape: str
    dtype: str
    impl: str
    us: float | None
    tflops: float | None
    max_abs_diff: float | None  # vs our padded output on valid tokens
    note: str = ""


def _ours_direct(inp: Inputs, layout: str, backend: str = "auto", used: list | None = None):
    from .. import _testapi

    s = inp.shape
    if layout == "padded":
        args = (inp.q, inp.k, inp.v, inp.seq_lens)
        out = torch.empty_like(inp.q)
    else:
        args = (inp.q_packed, inp.k_packed, inp.v_packed, inp.cu_seqlens)
        out = torch.empty_like(inp.q_packed)
    kw = dict(num_heads=s.heads, num_kv_heads=s.kv_heads, head_size=s.head_size, scale=inp.scale, layout=layout,
              backend=backend, out=out)

    def run():
        return _testapi.attention(*args, **kw)[0]

    ran = _testapi.attention(*args, **kw)[1]
    if used is not None:
        used.append(ran)
    return run


def _tiling(row_blocks: int):
    """Force the flash tiling for one forced-family row (0: leave the dispatcher's rule)."""
    from .. import _testapi

    return _testapi.flash_tiling(row_blocks) if row_blocks else contextlib.nullcontext()


def _valid_rows(out: torch.Tensor, inp: Inputs) -> torch.Tensor:
    return out if out.dim() == 2 else out[inp.key_valid]


def run_benchmark(shapes: list[Shape] | None = None, dtypes=(torch.float16, torch.bfloat16), iters: int = 50,
                  with_ort: bool = True, log=print) -> list[Row]:
    timer = Timer(iters=iters)
    rows: list[Row] = []
    for shape in shapes or default_shapes():
        for dtype in dtypes:
            dname = str(dtype).replace("torch.", "")
            inp = make_inputs(shape, dtype)
            auto_used = {"padded": [], "packed": []}
            builders = {AUTO[0]: lambda: _ours_direct(inp, "padded", used=auto_used["padded"]),
                        AUTO[1]: lambda: _ours_direct(inp, "packed", used=auto_used["packed"])}
            for impl, (backend, layout, _) in FAMILIES.items():
                builders[impl] = lambda b=backend, lay=layout: _ours_direct(inp, lay, b)
            if with_ort:
                builders[AUTO[2]] = lambda: ours_via_ort(inp, "padded")
                builders[AUTO[3]] = lambda: ours_via_ort(inp, "packed")
            builders.update(torch_peers(inp))
            if with_ort:
                builders.update(ort_peers(inp))
            baseline = None
            for impl, build in builders.items():
                try:
                    with _tiling(FAMILIES.get(impl, ("", "", 0))[2]):
                        fn = build()
                        out = _valid_rows(fn(), inp).float()
                        us = timer.median_us(fn)
                    if baseline is None:
                        baseline = out
                    diff = float((out - baseline).abs().max())
                    note = ""
                    if impl in AUTO[:2]:
                        note = f"auto ran {auto_used['padded' if impl == AUTO[0] else 'packed'][-1]}"
                    rows.append(Row(shape.name, dname, impl, us, shape.flops() / us / 1e6, diff, note))
                    log(f"[bench] {shape.name:22s} {dname:9s} {impl:30s} {us:9.1f} us {rows[-1].tflops:7.1f} TFLOP/s")
                except Exception as exc:  # a peer that cannot run this problem is reported, not fatal
                    reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
                    rows.append(Row(shape.name, dname, impl, None, None, None, reason))
                    log(f"[bench] {shape.name:22s} {dname:9s} {impl:30s} n/a: {reason}")
                torch.cuda.empty_cache()
    return rows


def summarize(rows: list[Row]) -> list[dict]:
    """Per (shape, dtype): our best, the best peer, and the ratio (peer time / our time)."""
    out = []
    keys = sorted({(r.shape, r.dtype) for r in rows}, key=lambda k: [r.shape for r in rows].index(k[0]))
    for shape, dtype in keys:
        group = [r for r in rows if r.shape == shape and r.dtype == dtype and r.us is not None]
        ours = [r for r in group if r.impl in OURS]
        peers = [r for r in group if r.impl not in OURS]
        if not ours or not peers:
            continue
        best_ours = min(ours, key=lambda r: r.us)
        best_peer = min(peers, key=lambda r: r.us)
        out.append({"shape": shape, "dtype": dtype, "ours": best_ours.impl, "ours_us": best_ours.us,
                    "ours_tflops": best_ours.tflops, "best_peer": best_peer.impl, "peer_us": best_peer.us,
                    "peer_tflops": best_peer.tflops, "ratio": best_peer.us / best_ours.us,
                    "auto": auto_checks(group)})
    return out


def auto_checks(group: list[Row]) -> list[dict]:
    """Per layout: what `auto` ran, its time, and the fastest forced family (the dispatch rule's check)."""
    checks = []
    for auto_impl, layout in ((AUTO[0], "padded"), (AUTO[1], "packed")):
        auto = next((r for r in group if r.impl == auto_impl), None)
        families = [r for r in group if FAMILIES.get(r.impl, ("", "", 0))[1] == layout]
        if auto is None or not families:
            continue
        best = min(families, key=lambda r: r.us)
        checks.append({"layout": layout, "ran": auto.note.removeprefix("auto ran "), "auto_us": auto.us,
                       "fastest": best.impl, "fastest_us": best.us, "ok": auto.us <= AUTO_SLACK * best.us})
    return checks


def rows_as_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(r) for r in rows]


if __name__ == "__main__":
    run_benchmark(log=lambda m: print(m, file=sys.stderr))
