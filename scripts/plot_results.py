"""Plots for the recorded GPU results (docs/performance.md, docs/gpu-results.md).

    python scripts/plot_results.py [bench/results/h100-attention-e2e.json] [bench/results/h100-gpu-check.json]

Writes docs/img/attention_ratio.png (ours vs the best peer per shape), docs/img/ratio_vs_length.png (the same
ratio against sequence length, per head size), docs/img/e2e_speedup.png (whole
encoders vs the ORT-optimized stock export) and docs/img/kernel_accuracy.png (max abs error vs the fp32 SDPA
reference per head size and dtype). Needs matplotlib (pip install -e ".[plots]").
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from encexport.bench.report import plot as plot_attention_ratio  # noqa: E402

IMG = ROOT / "docs" / "img"
# Absolute parts of the GPU grid's tolerances (tests/gpu/test_gpu_kernels.py).
TOLERANCES = {"fp16": 1e-2, "bf16": 4e-2, "fp32": 1e-4}


def _finish(fig, ax, path: Path, *, xlabel: str | None, ylabel: str, title: str, legend_kw: dict | None = None) -> None:
    """Labels, legend, layout and the PNG: the same closing steps for every figure."""
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(**(legend_kw or {}))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_e2e(e2e: list[dict], path: Path) -> None:
    keys = list(dict.fromkeys((r["model"].split(" (")[0], r["batch"]) for r in e2e))
    variants = [("ours", "ours (padded)"), ("ours packed", "ours (packed)")]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.38
    for i, (variant, label) in enumerate(variants):
        speedups = []
        for model, batch in keys:
            rows = {r["variant"]: r for r in e2e if r["model"].startswith(model) and r["batch"] == batch}
            ok = "ms" in rows.get("stock", {}) and "ms" in rows.get(variant, {})
            speedups.append(rows["stock"]["ms"] / rows[variant]["ms"] if ok else 0)
        ax.bar([x + i * width for x in range(len(keys))], speedups, width, label=label)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks([x + width / 2 for x in range(len(keys))])
    ax.set_xticklabels([f"{m}\n{b}" for m, b in keys], fontsize=8)
    _finish(fig, ax, path, xlabel=None, ylabel="stock ORT-optimized time / our time",
            title="End to end, ORT CUDA fp16 (higher is better)")


def plot_ratio_vs_length(summary: list[dict], path: Path) -> None:
    """Ratio to the best peer against the (padded) sequence length, one line per head size (dense shapes)."""
    from encexport.bench.shapes import default_shapes

    geometry = {s.name: (s.seq, s.head_size) for s in default_shapes() if not s.ragged}
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for dtype, marker in (("float16", "o"), ("bfloat16", "s")):
        by_head: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for row in summary:
            if row["dtype"] == dtype and row["shape"] in geometry:
                seq, head = geometry[row["shape"]]
                by_head[head].append((seq, row["ratio"]))
        for head, points in sorted(by_head.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=marker,
                    ls="-" if dtype == "float16" else ":", label=f"D{head} {dtype}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    _finish(fig, ax, path, xlabel="sequence length S", ylabel="best peer time / our time",
            title="Dense shapes: ratio to the best peer by sequence length and head size",
            legend_kw=dict(fontsize=7, ncol=2))


def plot_accuracy(records: list[dict], path: Path) -> None:
    worst: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for r in records:
        if r.get("test") != "kernel":
            continue
        key = (r["used"], r["dtype"].replace("torch.", ""))
        worst[key][r["head_size"]] = max(worst[key].get(r["head_size"], 0.0), r["max_abs"])
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for (backend, dtype), by_size in sorted(worst.items()):
        sizes = [s for s in sorted(by_size) if by_size[s] > 0]  # exact matches (e.g. length 1) have no log point
        ax.plot(sizes, [by_size[s] for s in sizes], marker="o", label=f"{backend} {dtype}")
    for dtype, tol in TOLERANCES.items():
        ax.axhline(tol, ls="--", lw=0.8, color="gray")
        ax.text(2, tol, f"{dtype} tolerance", fontsize=7, va="bottom")
    ax.set_yscale("log")
    _finish(fig, ax, path, xlabel="head size", ylabel="max |ours - SDPA fp32 math|",
            title="Kernel accuracy on the randomized grid (H100)", legend_kw=dict(fontsize=7, ncol=2))


def main() -> int:
    bench = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "bench/results/h100-attention-e2e.json")
    check = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "bench/results/h100-gpu-check.json")
    IMG.mkdir(parents=True, exist_ok=True)
    data = json.loads(bench.read_text())
    plot_attention_ratio(data["summary"], IMG / "attention_ratio.png")
    plot_ratio_vs_length(data["summary"], IMG / "ratio_vs_length.png")
    if data.get("e2e"):
        plot_e2e(data["e2e"], IMG / "e2e_speedup.png")
    plot_accuracy(json.loads(check.read_text()), IMG / "kernel_accuracy.png")
    print(f"wrote {', '.join(p.name for p in sorted(IMG.glob('*.png')))} to {IMG}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
