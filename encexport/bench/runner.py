"""Runs every implementation on every shape in one process and collects the table."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

import torch

from .inputs import Inputs, make_inputs
from .ort_peers import ort_peers, ours_via_ort
from .shapes import Shape, default_shapes
from .timing import Timer
from .torch_peers import torch_peers

OURS = ("encexport (direct, padded)", "encexport (direct, packed)", "encexport via ORT (padded)",
        "encexport via ORT (packed)")


@dataclass
class Row:
    shape: str
    dtype: str
    impl: str
    us: float | None
    tflops: float | None
    max_abs_diff: float | None  # vs our padded output on valid tokens
    note: str = ""


def _ours_direct(inp: Inputs, layout: str):
    from .. import _testapi

    s = inp.shape
    if layout == "padded":
        args = (inp.q, inp.k, inp.v, inp.seq_lens)
        out = torch.empty_like(inp.q)
    else:
        args = (inp.q_packed, inp.k_packed, inp.v_packed, inp.cu_seqlens)
        out = torch.empty_like(inp.q_packed)
    kw = dict(num_heads=s.heads, num_kv_heads=s.kv_heads, head_size=s.head_size, scale=inp.scale, layout=layout,
              out=out)

    def run():
        return _testapi.attention(*args, **kw)[0]

    run()
    return run


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
            builders = {OURS[0]: lambda: _ours_direct(inp, "padded"), OURS[1]: lambda: _ours_direct(inp, "packed")}
            if with_ort:
                builders[OURS[2]] = lambda: ours_via_ort(inp, "padded")
                builders[OURS[3]] = lambda: ours_via_ort(inp, "packed")
            builders.update(torch_peers(inp))
            if with_ort:
                builders.update(ort_peers(inp))
            baseline = None
            for impl, build in builders.items():
                try:
                    fn = build()
                    out = _valid_rows(fn(), inp).float()
                    if baseline is None:
                        baseline = out
                    diff = float((out - baseline).abs().max())
                    us = timer.median_us(fn)
                    rows.append(Row(shape.name, dname, impl, us, shape.flops() / us / 1e6, diff))
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
                    "peer_tflops": best_peer.tflops, "ratio": best_peer.us / best_ours.us})
    return out


def rows_as_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(r) for r in rows]


if __name__ == "__main__":
    run_benchmark(log=lambda m: print(m, file=sys.stderr))
