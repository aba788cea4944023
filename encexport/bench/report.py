"""Turns benchmark rows into the markdown tables, the JSON record and the PNG plot of docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

from ..provenance import describe
from .figures import save_stamped
from .runner import AUTO_SLACK, LEVELS, Ours
from .shapes import default_shapes

# HBM3 peak of the H100 SXM the recorded runs use; the floor column is bytes moved / this rate.
PEAK_BYTES_PER_S = 3.35e12
# What the runtime-level host cost of our node is held to: ORT MultiHeadAttention's plus this.
HOST_BUDGET_US = 2.0
HOST_PEER = "ORT MultiHeadAttention"

TIMING = ("Timing: CUDA events around one call with nothing queued on the GPU before the start event (back to back), "
          "warm-up first, median (kernel level: {k} calls; runtime level: {r} calls). *cold* = the same with a 256 MB "
          "L2 flush synchronized before the start event. *host* = CPU time per call over bursts of 20 calls that do "
          "not wait for the GPU (ORT: runs with disable_synchronize_execution_providers). *graph* = device time per call from CUDA-graph replays. "
          "*mem* = device memory in use after building and running the implementation. TFLOP/s = 4·H·D·ΣL² / t "
          "over valid tokens only. Ratio = best peer time / our best time, back to back (> 1: faster).")


def memory_floor_us(shape_name: str) -> float | None:
    """Time to read q, k, v and write the output once at peak bandwidth (16-bit, valid tokens only)."""
    shape = next((s for s in default_shapes() if s.name == shape_name), None)
    return None if shape is None else shape.min_bytes(2) / PEAK_BYTES_PER_S * 1e6


def _f(x, fmt=".1f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _summary_table(summary: list[dict], level: str) -> list[str]:
    peers = "torch SDPA / varlen_attn / flash-attn-4" if level == "kernel" else "ORT's own ops in sessions"
    lines = [f"| shape | dtype | ours (best) | µs | cold µs | host µs (auto) | best peer ({peers}) | µs | cold µs | "
             "host µs | ratio | floor µs |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in (s for s in summary if s["level"] == level):
        lines.append(f"| {s['shape']} | {s['dtype']} | {s['ours']} | {_f(s['ours_us'])} | {_f(s['ours_cold_us'])} | "
                     f"{_f(s['ours_host_us'])} | {s['best_peer']} | {_f(s['peer_us'])} | {_f(s['peer_cold_us'])} | "
                     f"{_f(s['peer_host_us'])} | **{s['ratio']:.2f}×** | {_f(memory_floor_us(s['shape']))} |")
    return lines


def host_cost_table(rows: list[dict]) -> list[str]:
    """Runtime level: host cost of our node (auto, padded and packed) against ORT MultiHeadAttention's."""
    lines = [f"| shape | dtype | ours padded µs | ours packed µs | {HOST_PEER} µs | ours − peer | within "
             f"+{HOST_BUDGET_US:.0f} µs |", "|---|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r["shape"], r["dtype"]) for r in rows if r["level"] == "runtime"))
    for shape, dtype in keys:
        by = {r["impl"]: r for r in rows if (r["level"], r["shape"], r["dtype"]) == ("runtime", shape, dtype)}
        padded, packed = (by.get(Ours("runtime", "auto", lay).name, {}).get("host_us") for lay in ("padded", "packed"))
        peer = by.get(HOST_PEER, {}).get("host_us")
        if padded is None or peer is None:
            continue
        worst = max(h for h in (padded, packed) if h is not None)
        lines.append(f"| {shape} | {dtype} | {_f(padded)} | {_f(packed)} | {_f(peer)} | {worst - peer:+.1f} | "
                     f"{'yes' if worst <= peer + HOST_BUDGET_US else '**no**'} |")
    return lines


def markdown(summary: list[dict], rows: list[dict], env: dict, iters: int = 50) -> str:
    lines = ["# Attention performance", "", f"Device: {env.get('device')}  ",
             f"Measured: {describe(env['source']) if 'source' in env else 'unknown commit'}  ",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("device", "source")) + "  ",
             TIMING.format(k=iters, r=4 * iters),
             f"Floor = q, k, v read and the output written once at {PEAK_BYTES_PER_S / 1e12:.2f} TB/s.", ""]
    for level in LEVELS:
        lines += [f"## {level.capitalize()} level", "", *_summary_table(summary, level), ""]
    lines += ["## Host cost per call (runtime level)", "", *host_cost_table(rows), ""]
    lines += ["## The `auto` dispatch against each kernel family forced", "",
              f"`auto` passes when it is within {AUTO_SLACK:.2f}x of the fastest forced family of the same layout.", "",
              "| level | shape | dtype | layout | auto ran | µs | fastest family | µs | ok |",
              "|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        for c in s.get("auto", []):
            lines.append(f"| {s['level']} | {s['shape']} | {s['dtype']} | {c['layout']} | {c['ran']} | "
                         f"{c['auto_us']:.1f} | {c['fastest']} | {c['fastest_us']:.1f} | {'yes' if c['ok'] else '**no**'} |")
    lines += ["", "## Every implementation", "",
              "| level | shape | dtype | implementation | µs | cold µs | host µs | graph µs | mem MiB | TFLOP/s | "
              "max abs diff | note |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        diff = "" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.2e}"
        lines.append(f"| {r['level']} | {r['shape']} | {r['dtype']} | {r['impl']} | {_f(r['us'])} | {_f(r['cold_us'])} | "
                     f"{_f(r['host_us'])} | {_f(r['graph_us'])} | {_f(r['mem_mib'], '.0f')} | {_f(r['tflops'])} | "
                     f"{diff} | {r['note']} |")
    return "\n".join(lines) + "\n"


def write_json(path: Path, summary, rows, env, e2e=()) -> None:
    path.write_text(json.dumps({"env": env, "summary": summary, "rows": rows, "e2e": list(e2e)}, indent=1) + "\n")


def plot(summary: list[dict], path: Path, source: dict | None = None) -> bool:
    """Ratio to the best peer per shape and dtype, one panel per level, stamped with the commit measured (`source`);
    False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    levels = [lv for lv in LEVELS if any(s["level"] == lv for s in summary)]
    if not levels:
        return False
    fig, axes = plt.subplots(len(levels), 1, figsize=(11, 4.2 * len(levels)), squeeze=False)
    for ax, level in zip(axes[:, 0], levels):
        part = [s for s in summary if s["level"] == level]
        shapes = list(dict.fromkeys(s["shape"] for s in part))
        dtypes = list(dict.fromkeys(s["dtype"] for s in part))
        width = 0.8 / max(1, len(dtypes))
        for i, d in enumerate(dtypes):
            ratios = [next((s["ratio"] for s in part if s["shape"] == sh and s["dtype"] == d), 0) for sh in shapes]
            ax.bar([x + i * width for x in range(len(shapes))], ratios, width, label=d)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks([x + width * (len(dtypes) - 1) / 2 for x in range(len(shapes))])
        ax.set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("best peer time / our time")
        ax.set_title(f"{level} level: encexport vs the best peer, back to back (higher is better)")
        ax.legend()
    save_stamped(fig, path, source)
    plt.close(fig)
    return True
