#!/usr/bin/env python3
"""Microbenchmark: encexport's tensor-core kernel vs PyTorch SDPA (flash, cuDNN, memory-efficient) on
encoder shapes, fp16, all sequences full length, q/k/v in the [B, S, H*D] token layout the op sees.

    python3 scripts/gpu_bench.py [--json PATH]

Each candidate is captured 20 times back to back in a CUDA graph (so host launch overhead, ctypes or
PyTorch dispatch, does not pollute the short shapes); CUDA events around each replay, 5 warm-up replays,
median of 50 replays divided by 20. Falls back to eager timing (events per call) if capture fails.
TFLOP/s counts 4*B*H*S*S*D.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from encexport import _testapi  # noqa: E402

SHAPES = [(64, 12, 128, 32), (32, 12, 128, 64), (32, 12, 512, 64), (4, 16, 8192, 64), (32, 16, 512, 128)]
SDPA_BACKENDS = {"torch_flash": SDPBackend.FLASH_ATTENTION, "torch_cudnn": SDPBackend.CUDNN_ATTENTION,
                 "torch_efficient": SDPBackend.EFFICIENT_ATTENTION}


CALLS_PER_GRAPH = 20


def _events_ms(fn, warmup, iters, per):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / per)
    return statistics.median(times)


def median_ms(fn, iters=50):
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    try:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(CALLS_PER_GRAPH):
                fn()
    except RuntimeError:
        torch.cuda.synchronize()
        return _events_ms(fn, 10, iters, 1)
    return _events_ms(graph.replay, 5, iters, CALLS_PER_GRAPH)


def bench_shape(b, h, s, d):
    torch.manual_seed(0)
    q, k, v = (torch.randn(b, s, h * d, device="cuda", dtype=torch.float16) for _ in range(3))
    scale = d ** -0.5
    out = torch.empty_like(q)
    row = {"shape": f"B{b} H{h} S{s} D{d}", "flops": 4 * b * h * s * s * d}

    def ours():
        _testapi.attention(q, k, v, None, num_heads=h, num_kv_heads=h, head_size=d, scale=scale, backend="flash",
                           out=out)

    row["encexport_flash"] = median_ms(ours)
    cu = torch.arange(0, (b + 1) * s, s, dtype=torch.int32, device="cuda")
    qp, kp, vp = q.view(b * s, -1), k.view(b * s, -1), v.view(b * s, -1)
    outp = out.view(b * s, -1)

    def ours_packed():
        _testapi.attention(qp, kp, vp, cu, num_heads=h, num_kv_heads=h, head_size=d, scale=scale, layout="packed",
                           backend="flash", out=outp)

    row["encexport_flash_packed"] = median_ms(ours_packed)
    qh, kh, vh = (t.view(b, s, h, d).transpose(1, 2) for t in (q, k, v))
    ref = None
    for name, backend in SDPA_BACKENDS.items():
        try:
            with sdpa_kernel(backend):
                row[name] = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, scale=scale))
                ref = torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, scale=scale)
        except RuntimeError as e:
            row[name] = None
            row[name + "_error"] = str(e).splitlines()[0][:200]
    ours()
    if ref is not None:
        row["max_abs_vs_torch"] = float((out.view(b, s, h, d).transpose(1, 2).float() - ref.float()).abs().max())
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = [bench_shape(*shape) for shape in SHAPES]
    cols = ["encexport_flash", "encexport_flash_packed", *SDPA_BACKENDS]
    print("| shape | " + " | ".join(f"{c} ms (TFLOP/s)" for c in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for r in rows:
        cells = [f"{r[c]:.4f} ({r['flops'] / r[c] / 1e9:.0f})" if r.get(c) else "n/a" for c in cols]
        print(f"| {r['shape']} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                                         "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
