"""`encexport bench`: time our attention against the peers on one GPU and write the report."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from .output_dir import prepare_output_dir


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark the attention kernels against torch SDPA / ONNX Runtime (GPU)")
    p.add_argument("--out", default="bench/results", help="folder for performance.md, bench.json, ratio.png")
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--dtypes", default="float16,bfloat16")
    p.add_argument("--shapes", default="", help="comma-separated subset of shape names (default: all)")
    p.add_argument("--no-ort", action="store_true", help="skip the ONNX Runtime peers and our ORT op")
    p.add_argument("--e2e", action="store_true",
                   help="also time whole encoders (MiniLM, BERT-base) vs the ORT-transformers-optimizer export")
    p.add_argument("--e2e-only", action="store_true", help="only the end-to-end part")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=run)


def _env() -> dict:
    import torch

    env = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "python": platform.python_version()}
    try:
        import onnxruntime

        env["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return env


def run(args) -> int:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("encexport bench needs a CUDA GPU (torch.cuda.is_available() is False)")
    from ..bench import report
    from ..bench.runner import rows_as_dicts, run_benchmark, summarize
    from ..bench.shapes import default_shapes

    out = prepare_output_dir(args.out, force=args.force, produces=("performance.md", "bench.json", "ratio.png"))
    shapes = default_shapes()
    if args.shapes:
        wanted = {s.strip() for s in args.shapes.split(",")}
        unknown = wanted - {s.name for s in shapes}
        if unknown:
            raise ValueError(f"unknown shapes {sorted(unknown)}; known: {', '.join(s.name for s in shapes)}")
        shapes = [s for s in shapes if s.name in wanted]
    dtypes = [getattr(torch, d.strip()) for d in args.dtypes.split(",")]
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    rows = [] if args.e2e_only else run_benchmark(shapes, dtypes, iters=args.iters, with_ort=not args.no_ort, log=log)
    e2e_rows = []
    if args.e2e or args.e2e_only:
        from ..bench.e2e import markdown as e2e_markdown, run_e2e

        e2e_rows = run_e2e(iters=args.iters, log=log)
    summary, env, dict_rows = summarize(rows), _env(), rows_as_dicts(rows)
    report.write_json(Path(out) / "bench.json", summary, dict_rows, env, e2e_rows)
    text = report.markdown(summary, dict_rows, env)
    if e2e_rows:
        text += "\n" + e2e_markdown(e2e_rows)
    (Path(out) / "performance.md").write_text(text)
    plotted = bool(summary) and report.plot(summary, Path(out) / "ratio.png")
    for s in summary:
        print(f"{s['shape']:24s} {s['dtype']:9s} ours {s['ours_us']:8.1f} us  best peer {s['best_peer']:30s} "
              f"{s['peer_us']:8.1f} us  ratio {s['ratio']:.2f}x")
    print(f"wrote {out}/performance.md, bench.json" + (", ratio.png" if plotted else " (no matplotlib: no plot)"))
    return 0
