"""`encexport export`: model -> DIR/model.onnx (one EncoderOnlyAttention node per layer), then check it."""

from __future__ import annotations

import json

from ..export import DTYPES, EXPORTERS, LAYOUTS, check, export
from ..symbolic import TARGETS
from .output_dir import prepare_output_dir


def register(sub) -> None:
    p = sub.add_parser("export", help="export a model to ONNX and check it against PyTorch")
    p.add_argument("--model", required=True,
                   help="recipe name (all-MiniLM-L6-v2, bert, roberta, xlm-roberta, distilbert, vit, modernbert), a "
                        "Hugging Face model_type, or a local checkpoint folder (config.json) of one of these families")
    p.add_argument("--out", required=True, help="output folder (model.onnx, report.json)")
    p.add_argument("--exporter", choices=EXPORTERS, default="dynamo")
    p.add_argument("--target", choices=TARGETS, default="encexport",
                   help="encexport: our node (needs the library); the others are stock ONNX fallbacks")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="fp32")
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


def run(args) -> int:
    from models import get_recipe

    recipe = get_recipe(args.model)
    produces = ("model.onnx",) + (("model.engine",) if args.format == "engine" else ())
    out = prepare_output_dir(args.out, force=args.force, produces=produces)
    result = export(recipe, out, exporter=args.exporter, target=args.target, dtype=args.dtype, opset=args.opset,
                    backend=args.backend, layout=args.layout)
    print(f"wrote {result.path}")
    report = {"model": recipe.name, "inputs": list(recipe.input_names), "outputs": list(recipe.output_names),
              "exporter": result.exporter, "layout": args.layout, "target": result.target, "dtype": result.dtype,
              "opset": result.opset, "export_seconds": round(result.seconds, 2)}
    status = 0
    if not args.no_check:
        rep = check(recipe, result.path, providers=args.providers.split(","))
        for line in rep.lines():
            print(line)
        report.update(max_abs_error=rep.max_abs_error, min_cosine=rep.min_cosine, providers=rep.providers)
        threshold = 0.9999 if args.dtype == "fp32" else 0.999
        ok = rep.min_cosine >= threshold
        print(f"{'PASS' if ok else 'FAIL'}: min cosine {rep.min_cosine:.6f} (threshold {threshold})")
        status = 0 if ok else 1
    if args.format == "engine":
        from ..build import build_engine

        engine = build_engine(result.path, out / "model.engine")
        print(f"wrote {engine}")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return status
