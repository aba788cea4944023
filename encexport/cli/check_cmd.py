"""`encexport check MODEL.onnx`: compare an exported model with the unmodified PyTorch model.

Two parts: the sentence-level report (cosine of the embeddings on real sentences), then Polygraphy
comparisons of every runner this machine has (ONNX Runtime CPU/CUDA with the encexport library, TensorRT
with the plugin) against PyTorch, per output, with per-output tolerances.
"""

from __future__ import annotations

from pathlib import Path

from ..check.against_pytorch import check_against_pytorch


def register(sub) -> None:
    p = sub.add_parser("check", help="compare an exported model with the unmodified PyTorch model")
    p.add_argument("onnx", help="the exported model.onnx")
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="recipe the model was exported from")
    p.add_argument("--providers", default="CPUExecutionProvider", help="comma-separated ONNX Runtime providers")
    p.add_argument("--engine", type=Path, help="a TensorRT engine built from the model (needs tensorrt)")
    p.add_argument("--min-cosine", type=float, default=0.9999)
    p.add_argument("--no-polygraphy", action="store_true", help="only the sentence-level report")
    p.set_defaults(func=run)


def _require_onnx(path: Path) -> None:
    """Refuse a file that is not an ONNX model before any runtime gets to parse it."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise ValueError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc}); "
                         "re-export it with `encexport export`") from exc


def run(args) -> int:
    from ..models import get_recipe

    path = Path(args.onnx)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; export one with `encexport export --model ... --out DIR`")
    _require_onnx(path)
    recipe = get_recipe(args.model)
    providers = args.providers.split(",")
    rep = check_against_pytorch(recipe, path, providers=providers)
    for line in rep.lines():
        print(line)
    ok = rep.min_cosine >= args.min_cosine
    print(f"{'PASS' if ok else 'FAIL'}: min cosine {rep.min_cosine:.6f} (threshold {args.min_cosine})")
    if not args.no_polygraphy:
        from ..check import compare
        from ..check.polygraphy_run import compare_runners

        rows, verdict, names = compare_runners(path, recipe, providers=providers, engine=args.engine)
        print(f"\nPolygraphy: {', '.join(names)}")
        print(compare.table(rows))
        good = verdict and all(r.passed for r in rows)
        print(f"{'PASS' if good else 'FAIL'}: Polygraphy comparison against PyTorch")
        ok = ok and good
    return 0 if ok else 1
