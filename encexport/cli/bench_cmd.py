"""`encexport bench`: time our attention against the peers on one GPU and write the report."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from .output_dir import prepare_output_dir


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark the attention kernels against torch SDPA / ONNX Runtime (GPU)")
    p.add_argument("--out", default="bench/results",
                   help="folder for performance.md, bench.json, ratio.png (and e2e.png with --e2e)")
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--dtypes", default="float16,bfloat16")
    p.add_argument("--shapes", default="", help="comma-separated subset of shape names (default: all)")
    p.add_argument("--no-ort", action="store_true",
                   help="kernel level only: skip the runtime level (our ORT node and ORT's own ops)")
    p.add_argument("--e2e", action="store_true",
                   help="also time whole encoders (MiniLM, BERT-base) vs the ORT-transformers-optimizer export")
    p.add_argument("--e2e-only", action="store_true", help="only the end-to-end part")
    p.add_argument("--force", action="store_true")
    p.add_argument("--allow-dirty", action="store_true",
                   help="write into the repository's bench/results even though the tree is not a clean commit")
    p.set_defaults(func=run)


RECORDED = Path(__file__).resolve().parents[2] / "bench" / "results"


def _refuse_unrecordable(out: str, allow_dirty: bool) -> None:
    """bench/results holds the recorded figures the docs quote: only a clean commit's run may land there."""
    from ..provenance import refuse_dirty, source_revision

    target = Path(out).resolve()
    if target == RECORDED or RECORDED in target.parents:
        refuse_dirty(source_revision(), allow_dirty=allow_dirty, what=f"benchmark results for {out}")


def _env() -> dict:
    import torch

    from ..provenance import source_revision

    env = {"device": torch.cuda.get_device_name(), "source": source_revision(), "torch": torch.__version__,
           "cuda": torch.version.cuda, "python": platform.python_version()}
    try:
        import onnxruntime

        env["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return env


def run(args) -> int:
    import torch

    _refuse_unrecordable(args.out, args.allow_dirty)  # before any work: a refused run must not cost an hour

    if not torch.cuda.is_available():
        raise RuntimeError("encexport bench needs a CUDA GPU (torch.cuda.is_available() is False)")
    from ..bench import report
    from ..bench.runner import LEVELS, rows_as_dicts, run_benchmark, summarize
    from ..bench.shapes import default_shapes

    out = prepare_output_dir(args.out, force=args.force,
                             produces=("performance.md", "bench.json", "ratio.png", "e2e.png"))
    shapes = default_shapes()
    if args.shapes:
        wanted = {s.strip() for s in args.shapes.split(",")}
        unknown = wanted - {s.name for s in shapes}
        if unknown:
            raise ValueError(f"unknown shapes {sorted(unknown)}; known: {', '.join(s.name for s in shapes)}")
        shapes = [s for s in shapes if s.name in wanted]
    dtypes = [getattr(torch, d.strip()) for d in args.dtypes.split(",")]
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    levels = ("kernel",) if args.no_ort else LEVELS
    rows = [] if args.e2e_only else run_benchmark(shapes, dtypes, iters=args.iters, levels=levels, log=log)
    e2e_rows = []
    if args.e2e or args.e2e_only:
        from ..bench.e2e import run_e2e

        e2e_rows = run_e2e(iters=args.iters, log=log)
    env, dict_rows = _env(), rows_as_dicts(rows)
    summary = [s for level in levels for s in summarize(rows, level)]
    report.write_json(Path(out) / "bench.json", summary, dict_rows, env, e2e_rows)
    text = report.markdown(summary, dict_rows, env, iters=args.iters)
    plots = ["ratio.png"] if summary and report.plot(summary, Path(out) / "ratio.png", env["source"]) else []
    if e2e_rows:
        from ..bench import e2e

        text += "\n" + e2e.markdown(e2e_rows)
        plots += ["e2e.png"] if e2e.plot(e2e_rows, Path(out) / "e2e.png", env["source"]) else []
    (Path(out) / "performance.md").write_text(text)
    for s in summary:
        print(f"{s['level']:7s} {s['shape']:22s} {s['dtype']:9s} ours {s['ours_us']:8.1f} us  best peer "
              f"{s['best_peer']:30s} {s['peer_us']:8.1f} us  ratio {s['ratio']:.2f}x")
    print(f"wrote {out}/performance.md, bench.json" + "".join(f", {p}" for p in plots)
          + ("" if plots else " (no matplotlib: no plot)"))
    return 0
