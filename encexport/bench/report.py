"""Turns benchmark rows into the markdown table, the JSON record and the PNG plots of docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

from .runner import AUTO_SLACK
from .shapes import default_shapes


# HBM3 peak of the H100 SXM the recorded runs use; the floor column is bytes moved / this rate.
PEAK_BYTES_PER_S = 3.35e12


def memory_floor_us(shape_name: str) -> float | None:
    """Time to read q, k, v and write the output once at peak bandwidth (16-bit, valid tokens only)."""
    shape = next((s for s in default_shapes() if s.name == shape_name), None)
    return None if shape is None else shape.min_bytes(2) / PEAK_BYTES_PER_S * 1e6


def markdown(summary: list[dict], rows: list[dict], env: dict) -> str:
    lines = ["# Attention performance", "", f"Device: {env.get('device')}  ", "Versions: " +
             ", ".join(f"{k} {v}" for k, v in env.items() if k != "device") + "  ",
             "Timing: CUDA events, 10 warm-up calls, median of 50, L2 flushed (256 MB write) before every call. "
             "TFLOP/s = 4·H·D·ΣL² / t over valid tokens only. Ratio = best peer time / our best time (> 1: faster). "
             f"Floor = q, k, v read and the output written once at {PEAK_BYTES_PER_S / 1e12:.2f} TB/s.",
             "", "| shape | dtype | ours (best) | µs | TFLOP/s | best peer | µs | TFLOP/s | ratio | floor µs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        floor = memory_floor_us(s["shape"])
        lines.append(f"| {s['shape']} | {s['dtype']} | {s['ours']} | {s['ours_us']:.1f} | {s['ours_tflops']:.1f} | "
                     f"{s['best_peer']} | {s['peer_us']:.1f} | {s['peer_tflops']:.1f} | **{s['ratio']:.2f}×** | "
                     f"{'' if floor is None else f'{floor:.1f}'} |")
    lines += ["", "## The `auto` dispatch against each kernel family forced",
              "", f"`auto` passes when it is within {AUTO_SLACK:.2f}x of the fastest forced family of the same layout.",
              "", "| shape | dtype | layout | auto ran | µs | fastest family | µs | ok |", "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        for c in s.get("auto", []):
            lines.append(f"| {s['shape']} | {s['dtype']} | {c['layout']} | {c['ran']} | {c['auto_us']:.1f} | "
                         f"{c['fastest']} | {c['fastest_us']:.1f} | {'yes' if c['ok'] else '**no**'} |")
    lines += ["", "## Every implementation", "", "| shape | dtype | implementation | µs | TFLOP/s | max |diff| vs ours | note |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        us = f"{r['us']:.1f}" if r["us"] is not None else "n/a"
        tf = f"{r['tflops']:.1f}" if r["tflops"] is not None else ""
        diff = f"{r['max_abs_diff']:.2e}" if r["max_abs_diff"] is not None else ""
        lines.append(f"| {r['shape']} | {r['dtype']} | {r['impl']} | {us} | {tf} | {diff} | {r['note']} |")
    return "\n".join(lines) + "\n"


def write_json(path: Path, summary, rows, env, e2e=()) -> None:
    path.write_text(json.dumps({"env": env, "summary": summary, "rows": rows, "e2e": list(e2e)}, indent=1) + "\n")


def plot(summary: list[dict], path: Path) -> bool:
    """Ratio to the best peer per shape and dtype (bar chart); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    shapes = list(dict.fromkeys(s["shape"] for s in summary))
    dtypes = list(dict.fromkeys(s["dtype"] for s in summary))
    fig, ax = plt.subplots(figsize=(max(8, len(shapes) * 0.9), 4.5))
    width = 0.8 / max(1, len(dtypes))
    for i, d in enumerate(dtypes):
        ratios = [next((s["ratio"] for s in summary if s["shape"] == sh and s["dtype"] == d), 0) for sh in shapes]
        ax.bar([x + i * width for x in range(len(shapes))], ratios, width, label=d)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks([x + width * (len(dtypes) - 1) / 2 for x in range(len(shapes))])
    ax.set_xticklabels(shapes, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("best peer time / our time")
    ax.set_title("encexport attention vs the best peer (higher is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True
