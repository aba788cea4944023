"""`encexport export`: model -> DIR/model.onnx (one EncoderOnlyAttention node per layer), then check it."""

from __future__ import annotations

import json

from ..check.against_pytorch import check_against_pytorch
from ..export import DTYPES, EXPORTERS, LAYOUTS, export
from ..symbolic import TARGETS
from .output_dir import prepare_output_dir


def register(sub) -> None:
    p = sub.add_parser("export", help="export a model to ONNX and check it against PyTorch")
    p.add_argument("--model", required=True,
                   help="recipe name (all-MiniLM-L6-v2, bert, roberta, xlm-roberta, distilbert, vit, modernbert), a "
                        "Hugging Face model_type, or a local checkpoint folder (config.json) of one of these families")
    p.add_argument("--out", required=True, help="output folder (model.onnx, report.json)")
    p.add_argument("--exporter", choices=EXPORTERS, default=None,
                   help="default: dynamo (legacy with --optimize: the graphs ONNX Runtime's optimizer fuses)")
    p.add_argument("--target", choices=TARGETS, default="encexport",
                   help="encexport: our node (needs the library); the others are stock ONNX fallbacks")
    p.add_argument("--dtype", choices=tuple(DTYPES), default=None, help="default: fp32 (fp16 with --optimize)")
    p.add_argument("--optimize", action="store_true",
                   help="write the ONNX Runtime-optimized model: the optimizer's fused kernels around our node, "
                        "fp16 weights, the same fp32 inputs and outputs")
    p.add_argument("--opset", type=int, default=None, help="default: 18 (dynamo), 17 (legacy), 23 (onnx-attention)")
    p.add_argument("--layout", choices=LAYOUTS, default="padded",
                   help="packed: tokens packed once at the input by the attention mask, packed attention nodes with "
                        "cu_seqlens, unpacked at the output (same inputs and outputs; text models)")
    p.add_argument("--backend", default=None, help="force a kernel family: AUTO (default), REFERENCE, FLASH, CUDNN")
    p.add_argument("--format", choices=("onnx", "engine"), default="onnx",
                   help="engine: also build a TensorRT engine (needs tensorrt)")
    p.add_argument("--providers", default="CPUExecutionProvider",
                   help="comma-separated ONNX Runtime providers for the check")
    p.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime accuracy check")
    p.add_argument("--force", action="store_true", help="overwrite an existing model in --out")
    p.set_defaults(func=run)


def _optimize_conflict(args, recipe) -> str | None:
    """What makes --optimize impossible with these arguments (decided before anything is loaded), or None."""
    from ..export.optimized import OPTIMIZE_EXPORTER
    from ..graph.ort_optimizer import unfused_family

    if args.target != "encexport":
        return (f"--optimize fuses ONNX Runtime's kernels around the EncoderOnlyAttention node; drop --target "
                f"{args.target} (the default target is encexport) or drop --optimize")
    if args.exporter not in (None, OPTIMIZE_EXPORTER):
        return (f"--optimize needs the {OPTIMIZE_EXPORTER} exporter (ONNX Runtime's optimizer does not fuse the "
                f"{args.exporter} exporter's graphs); drop --exporter {args.exporter}")
    if args.dtype == "fp32":
        return "--optimize writes fp16 weights (inputs and outputs stay fp32); drop --dtype fp32 or drop --optimize"
    if args.format == "engine":
        return ("--optimize writes ONNX Runtime contrib ops that TensorRT cannot parse; build the engine from an "
                "export without --optimize")
    reason = unfused_family(recipe)
    return f"{reason}; export without --optimize" if reason else None


def _export(args, recipe, out):
    """(result, report fields of the export)."""
    if not args.optimize:
        result = export(recipe, out, exporter=args.exporter or "dynamo", target=args.target,
                        dtype=args.dtype or "fp32", opset=args.opset, backend=args.backend, layout=args.layout)
        return result, {"optimized": False}
    from ..export.optimized import export_optimized

    result, histogram = export_optimized(recipe, out, layout=args.layout, backend=args.backend, opset=args.opset)
    return result, {"optimized": True, "op_histogram": dict(sorted(histogram.items()))}


def run(args) -> int:
    from ..models import get_recipe

    from .main import UsageError

    recipe = get_recipe(args.model)
    conflict = _optimize_conflict(args, recipe) if args.optimize else None
    if conflict:
        raise UsageError(conflict)
    produces = ("model.onnx",) + (("model.engine",) if args.format == "engine" else ())
    out = prepare_output_dir(args.out, force=args.force, produces=produces)
    result, optimized = _export(args, recipe, out)
    print(f"wrote {result.path}")
    report = {"model": recipe.name, "inputs": list(recipe.input_names), "outputs": list(recipe.output_names),
              "exporter": result.exporter, "layout": args.layout, "target": result.target, "dtype": result.dtype,
              "opset": result.opset, "export_seconds": round(result.seconds, 2), **optimized}
    status = 0
    if not args.no_check:
        rep = check_against_pytorch(recipe, result.path, providers=args.providers.split(","))
        for line in rep.lines():
            print(line)
        report.update(max_abs_error=rep.max_abs_error, min_cosine=rep.min_cosine, providers=rep.providers,
                      fp32_fallbacks=rep.fp32_fallbacks)
        threshold = 0.9999 if result.dtype == "fp32" else 0.999
        ok = rep.min_cosine >= threshold
        print(f"{'PASS' if ok else 'FAIL'}: min cosine {rep.min_cosine:.6f} (threshold {threshold})")
        status = 0 if ok else 1
        from ..check.layers import layer_check

        status = max(status, layer_check(recipe, report))
    if args.format == "engine":
        from ..build import build_engine

        engine = build_engine(result.path, out / "model.engine")
        print(f"wrote {engine}")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return status
