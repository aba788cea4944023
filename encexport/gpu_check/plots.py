"""Plots for the recorded GPU results (docs/performance.md, docs/gpu-results.md), redrawn from the JSON records.

    python -m encexport.gpu_check plots [bench/results/h100-bench.json] [bench/results/h100-e2e.json] \
        [bench/results/h100-gpu-check.json] [bench/results/h100-triton-load.json]

Writes docs/img/attention_ratio.png and docs/img/e2e_speedup.png with the benchmark's own plot functions (the
figures `encexport bench` writes) and docs/img/kernel_accuracy.png (each case's worst error over its tolerance
bound, vs the fp32 SDPA reference, per head size and dtype) and, once a load run is recorded,
docs/img/triton_load.png. Every figure names the commit its record measured. Needs matplotlib (pip install -e ".[plots]").
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ..bench.e2e import plot as plot_e2e
from ..bench.figures import save_stamped
from ..bench.report import plot as plot_attention_ratio

ROOT = Path(__file__).resolve().parents[2]  # the checkout whose docs/ the figures belong to
IMG = ROOT / "docs" / "img"


def _finish(fig, ax, path: Path, *, xlabel: str | None, ylabel: str, title: str, source: dict | None,
            legend_kw: dict | None = None) -> None:
    """Labels, legend, the commit measured, layout and the PNG: the same closing steps for every figure."""
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(**(legend_kw or {}))
    save_stamped(fig, path, source)


def plot_accuracy(records: list[dict], path: Path, source: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The grid's bound is relative (tests/support/tolerance.py: TOLERANCE[dtype] * (|ref| + rms) per element), so
    # what compares across dtypes and head sizes is each case's worst error over its bound: the case passes below 1.
    worst: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for r in records:
        if r.get("test") != "kernel" or not r.get("worst_bound"):
            continue
        key = (r["used"], r["dtype"].replace("torch.", ""))
        ratio = r["worst_error"] / r["worst_bound"]
        worst[key][r["head_size"]] = max(worst[key].get(r["head_size"], 0.0), ratio)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for (backend, dtype), by_size in sorted(worst.items()):
        sizes = [s for s in sorted(by_size) if by_size[s] > 0]  # exact matches (e.g. length 1) have no log point
        ax.plot(sizes, [by_size[s] for s in sizes], marker="o", label=f"{backend} {dtype}")
    ax.axhline(1.0, ls="--", lw=0.8, color="gray")
    ax.text(2, 1.0, "tolerance (each case's bound)", fontsize=7, va="bottom")
    ax.set_yscale("log")
    _finish(fig, ax, path, xlabel="head size", ylabel="worst error / its bound",
            title="Kernel accuracy on the randomized grid (H100)", source=source, legend_kw=dict(fontsize=7, ncol=2))


def plot_load(result: dict, path: Path) -> None:
    """Throughput (bars) and p50/p99 latency (markers) per served model, from a `load` step's load.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in result["models"] if m.get("load")]
    names = [m["model"] for m in models]
    fig, (rate, latency) = plt.subplots(1, 2, figsize=(10, 3.8))
    bars = rate.bar(names, [m["load"]["throughput_rps"] for m in models], color="tab:blue")
    rate.bar_label(bars, fmt="%.0f", fontsize=8)
    rate.set_ylabel("answers / s (all correct)")
    rate.set_title("throughput", fontsize=10)
    for quantile, marker in (("p50_ms", "o"), ("p99_ms", "^")):
        latency.plot(names, [m["load"][quantile] for m in models], marker=marker, ls="", label=quantile[:3])
    latency.set_ylim(bottom=0)
    s = result["settings"]
    _finish(fig, latency, path, xlabel=None, ylabel="latency ms",
            title=f"Triton, {s['clients']} clients, {s['seconds']:.0f} s ({result['device']})",
            source=result.get("source"), legend_kw=dict(fontsize=8))


def redraw(paths: list[str]) -> int:
    args = list(paths) + [None] * 3
    bench = Path(args[0] or ROOT / "bench/results/h100-bench.json")
    e2e = Path(args[1] or ROOT / "bench/results/h100-e2e.json")
    check = Path(args[2] or ROOT / "bench/results/h100-gpu-check.json")
    IMG.mkdir(parents=True, exist_ok=True)
    bench_data, e2e_data, check_data = (json.loads(p.read_text()) for p in (bench, e2e, check))
    # each figure is stamped with the commit its own record measured, not the one redrawing it
    plot_attention_ratio(bench_data["summary"], IMG / "attention_ratio.png", bench_data["env"].get("source"))
    plot_e2e(e2e_data["e2e"], IMG / "e2e_speedup.png", e2e_data["env"].get("source"))
    plot_accuracy(check_data["records"], IMG / "kernel_accuracy.png", check_data.get("source"))
    load = ROOT / "bench/results/h100-triton-load.json"
    if len(args) > 3 and args[3]:
        load = Path(args[3])
    if load.is_file():
        plot_load(json.loads(load.read_text()), IMG / "triton_load.png")
    print(f"wrote {', '.join(p.name for p in sorted(IMG.glob('*.png')))} to {IMG}")
    return 0
