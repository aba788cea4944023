"""`encexport check MODEL.onnx`: run an exported model in ONNX Runtime and compare with PyTorch."""

from __future__ import annotations

from pathlib import Path

from ..export import check


def register(sub) -> None:
    p = sub.add_parser("check", help="compare an exported model with the unmodified PyTorch model")
    p.add_argument("onnx", help="the exported model.onnx")
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="recipe the model was exported from")
    p.add_argument("--providers", default="CPUExecutionProvider", help="comma-separated ONNX Runtime providers")
    p.add_argument("--min-cosine", type=float, default=0.9999)
    p.set_defaults(func=run)


def run(args) -> int:
    from models import get_recipe

    path = Path(args.onnx)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; export one with `encexport export --model ... --out DIR`")
    rep = check(get_recipe(args.model), path, providers=args.providers.split(","))
    for line in rep.lines():
        print(line)
    ok = rep.min_cosine >= args.min_cosine
    print(f"{'PASS' if ok else 'FAIL'}: min cosine {rep.min_cosine:.6f} (threshold {args.min_cosine})")
    return 0 if ok else 1
