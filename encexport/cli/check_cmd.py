"""`encexport check MODEL.onnx`: compare an exported model with the unmodified PyTorch model.

Two parts: the sentence-level report (cosine of the embeddings on real sentences), then Polygraphy
comparisons of every runner this machine has (ONNX Runtime CPU/CUDA with the encexport library, TensorRT
with the plugin) against PyTorch, per output. Tolerances follow the model's dtype (encexport.check.tolerances),
as in `encexport export`'s own check. The verdict table is printed; Polygraphy's full log goes to
MODEL.polygraphy.txt next to the model.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..check.against_pytorch import RecipeMismatch, check_against_pytorch
from ..check.tolerances import min_cosine, model_dtype
from . import noise


def register(sub) -> None:
    p = sub.add_parser("check", help="compare an exported model with the unmodified PyTorch model")
    p.add_argument("onnx", help="the exported model.onnx")
    p.add_argument("--model", default=None,
                   help="recipe the model was exported from (default: the one report.json next to it names)")
    p.add_argument("--providers", default="CPUExecutionProvider", help="comma-separated ONNX Runtime providers")
    p.add_argument("--engine", type=Path, help="a TensorRT engine built from the model (needs tensorrt)")
    p.add_argument("--min-cosine", type=float, default=None,
                   help="sentence-level threshold (default: by the model's dtype, 0.9999 fp32, 0.999 fp16)")
    p.add_argument("--no-polygraphy", action="store_true", help="only the sentence-level report")
    p.add_argument("--verbose", action="store_true",
                   help="show the libraries' warnings and progress bars, and Polygraphy's log on the terminal")
    p.set_defaults(func=run)


def _require_onnx(path: Path) -> None:
    """Refuse a file that is not an ONNX model before any runtime gets to parse it."""
    import onnx
    from google.protobuf.message import DecodeError

    from .main import UsageError

    fix = "re-export it with `encexport export --model NAME --out DIR`"
    if path.stat().st_size == 0:
        raise UsageError(f"{path} is empty (0 bytes), not an ONNX model; {fix}")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise UsageError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc}); {fix}") from exc
    if not model.graph.node or not model.graph.output:
        raise UsageError(f"{path} holds no ONNX graph (truncated or not a model); {fix}")


def _recipe_name(path: Path, given: str | None) -> str:
    """--model, else the recipe report.json next to the model names; the two must agree when both exist."""
    from .main import UsageError

    report_path = path.parent / "report.json"
    recorded = None
    if report_path.is_file():
        try:
            recorded = json.loads(report_path.read_text()).get("model")
        except (json.JSONDecodeError, AttributeError) as exc:
            raise UsageError(f"{report_path} is not the JSON `encexport export` writes ({exc}); pass --model NAME "
                             "or re-export") from exc
    if given is None:
        if recorded is None:
            raise UsageError(f"no --model given and no report.json next to {path} names the recipe; pass --model "
                             "with the recipe it was exported from (e.g. --model all-MiniLM-L6-v2)")
        return recorded
    if recorded is not None and _resolve(given).name != _resolve(recorded).name:
        raise UsageError(f"--model {given} but {report_path} says {path.name} was exported from {recorded}; drop "
                         f"--model (or pass --model {recorded})")
    return given


def _resolve(name: str):
    from ..models import get_recipe

    from .main import UsageError

    try:
        return get_recipe(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _log_path(path: Path) -> Path:
    """MODEL.polygraphy.txt next to the model (in the temporary folder when the model's folder is read-only)."""
    import os
    import tempfile

    folder = path.parent if os.access(path.parent, os.W_OK) else Path(tempfile.gettempdir())
    return folder / f"{path.stem}.polygraphy.txt"


def run(args) -> int:
    from .main import UsageError

    path = Path(args.onnx)
    if not path.is_file():
        raise UsageError(f"{path} not found; export one with `encexport export --model NAME --out DIR`")
    _require_onnx(path)
    recipe = _resolve(_recipe_name(path, args.model))
    dtype = model_dtype(path)
    threshold = args.min_cosine if args.min_cosine is not None else min_cosine(dtype)
    providers = args.providers.split(",")
    with noise.quiet(args.verbose):
        try:
            ok = _run(args, path, recipe, dtype, threshold, providers)
        except RecipeMismatch as exc:
            raise UsageError(str(exc)) from exc
    return 0 if ok else 1


def _run(args, path, recipe, dtype, threshold, providers) -> bool:
    from ..ort import ProviderUnavailable
    from ..progress import step

    from .main import UsageError

    try:
        with step(f"loading {recipe.name} (offline)"):
            loaded = recipe.load()
        rep = check_against_pytorch(recipe, path, providers=providers, loaded=loaded)
    except ProviderUnavailable as exc:
        raise UsageError(str(exc)) from exc
    for line in rep.lines():
        print(line)
    ok = rep.min_cosine >= threshold
    print(f"{'PASS' if ok else 'FAIL'}: min cosine {rep.min_cosine:.6f} (threshold {threshold}, {dtype} model)")
    # The recipe's patch, layer by layer at trained-scale weights: an attention term the export dropped shows here
    # even where the sentence-level numbers of small random weights cannot see it.
    from ..check.layers import layer_check

    ok = layer_check(recipe) == 0 and ok
    if args.no_polygraphy:
        return ok
    from ..check import compare
    from ..check.polygraphy_run import compare_runners

    log = None if args.verbose else _log_path(path)
    try:
        with step("comparing every runner with PyTorch through Polygraphy"):
            rows, verdict, names = compare_runners(path, recipe, providers=providers, engine=args.engine, dtype=dtype,
                                                   loaded=loaded, log=log)
    except ProviderUnavailable as exc:
        raise UsageError(str(exc)) from exc
    print(f"\nPolygraphy, against {names[0]} ({dtype} tolerances):")
    print(compare.table(rows))
    good = verdict and all(r.passed for r in rows)
    where = f"; full report: {log}" if log else ""
    print(f"{'PASS' if good else 'FAIL'}: Polygraphy comparison against PyTorch{where}")
    return ok and good
