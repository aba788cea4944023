"""`encexport export`: model -> DIR/model.onnx (one EncoderOnlyAttention node per layer), then check it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..check.against_pytorch import check_against_pytorch
from ..check.tolerances import min_cosine, model_dtype
from ..export import DTYPES, EXPORTERS, LAYOUTS, export
from ..symbolic import TARGETS
from . import noise
from .output_dir import staged_output


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
    p.add_argument("--verbose", action="store_true", help="show the libraries' warnings and progress bars")
    p.set_defaults(func=run)


class Rule(NamedTuple):
    """One combination that cannot work: `clash(args, recipe)` is true for it, `fix(args, recipe)` says why and
    what to change."""

    clash: Callable
    fix: Callable


def _backend_reason(args, recipe) -> str | None:
    """Why the forced kernel family cannot run what this export writes (dtype, layout), else None."""
    from .. import capabilities, contract
    from ..backends import registered_backends

    name = (args.backend or "AUTO").upper()
    if name not in registered_backends():
        return f"unknown --backend {args.backend}; choose one of {', '.join(registered_backends())}"
    onnx_backend = name.lower()
    if onnx_backend == "auto" or onnx_backend not in contract.BACKENDS:
        return None
    dtype = "float16" if _dtype(args) == "fp16" else "float32"
    try:
        answer = capabilities.supports(onnx_backend, dtype, 64, layout=args.layout)  # 64: all families run it
    except (OSError, RuntimeError):  # no library to ask: the layer judges it while exporting
        return None
    if answer.support != capabilities.Support.OUTSIDE:
        return None
    fix = "; or export with --dtype fp16" if dtype == "float32" and args.layout == "padded" else ""
    return f"--backend {args.backend} with {_dtype(args)}, layout {args.layout}: {answer.reason}{fix}"


def _dtype(args) -> str:
    return args.dtype or ("fp16" if args.optimize else "fp32")


def _opset(args) -> int:
    from ..export import DEFAULT_OPSET

    exporter = args.exporter or ("legacy" if args.optimize else "dynamo")
    return args.opset or DEFAULT_OPSET.get(args.target, 18 if exporter == "dynamo" else 17)


def _optimize_rules():
    from ..export.optimized import OPTIMIZE_EXPORTER
    from ..graph.ort_optimizer import unfused_family

    return (
        Rule(lambda a, r: a.optimize and a.target != "encexport",
             lambda a, r: f"--optimize fuses ONNX Runtime's kernels around the EncoderOnlyAttention node; drop "
                          f"--target {a.target} (the default target is encexport) or drop --optimize"),
        Rule(lambda a, r: a.optimize and a.exporter not in (None, OPTIMIZE_EXPORTER),
             lambda a, r: f"--optimize needs the {OPTIMIZE_EXPORTER} exporter (ONNX Runtime's optimizer does not "
                          f"fuse the {a.exporter} exporter's graphs); drop --exporter {a.exporter}"),
        Rule(lambda a, r: a.optimize and a.dtype == "fp32",
             lambda a, r: "--optimize writes fp16 weights (inputs and outputs stay fp32); drop --dtype fp32 or "
                          "drop --optimize"),
        Rule(lambda a, r: a.optimize and a.format == "engine",
             lambda a, r: "--optimize writes ONNX Runtime contrib ops that TensorRT cannot parse; build the engine "
                          "from an export without --optimize"),
        Rule(lambda a, r: a.optimize and (a.backend or "auto").lower() not in ("auto", "reference"),
             lambda a, r: f"--optimize exports in fp32 and converts the weights to fp16 afterwards, and --backend "
                          f"{a.backend} runs fp16/bf16 only; drop --backend (auto picks the fastest family at run "
                          "time) or drop --optimize"),
        Rule(lambda a, r: a.optimize and unfused_family(r),
             lambda a, r: f"{unfused_family(r)}; export without --optimize"),
    )


# What combines with what, asked before anything is loaded or written: the first rule that clashes is the
# message. (--optimize's own rules come first; they name the plain export as the way out.)
RULES = (
    Rule(lambda a, r: a.layout == "packed" and a.target == "ms-mha",
         lambda a, r: "--target ms-mha (com.microsoft.MultiHeadAttention) has no packed layout; drop --layout "
                      "packed, or pick --target encexport, onnx-attention or decomposed"),
    Rule(lambda a, r: a.layout == "packed" and (r.modality != "text" or r.first_position is None),
         lambda a, r: f"{r.name} has no packed layout (its inputs carry no padding); drop --layout packed"),
    Rule(lambda a, r: a.backend is not None and a.target != "encexport",
         lambda a, r: f"--backend picks a kernel family of the EncoderOnlyAttention node, which --target {a.target} "
                      "does not write; drop --backend, or drop --target"),
    Rule(lambda a, r: _backend_reason(a, r) is not None, _backend_reason),
    Rule(lambda a, r: (a.backend or "auto").lower() in ("flash", "cudnn") and not a.no_check
         and a.providers.split(",")[0] != "CUDAExecutionProvider",
         lambda a, r: f"--backend {a.backend} runs only on CUDA, but the check runs on {a.providers}; pass --providers "
                      "CUDAExecutionProvider (on a machine with a CUDA GPU) or --no-check"),
    Rule(lambda a, r: (a.exporter == "legacy" or (a.optimize and a.exporter is None)) and _opset(a) > 20,
         lambda a, r: f"the legacy exporter supports opset <= 20, not {_opset(a)}; use --exporter dynamo or a "
                      "lower --opset"),
    Rule(lambda a, r: a.target == "onnx-attention" and _opset(a) < 23,
         lambda a, r: f"--target onnx-attention writes ONNX Attention, which exists from opset 23 (not {_opset(a)}); "
                      "drop --opset or pass --opset 23"),
)


def refusal(args, recipe) -> str | None:
    """Why these options cannot go together for this recipe (with the fix), or None."""
    for rule in _optimize_rules() + RULES:
        if rule.clash(args, recipe):
            return rule.fix(args, recipe)
    return None


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

    try:
        recipe = get_recipe(args.model)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    conflict = refusal(args, recipe)
    if conflict:
        raise UsageError(conflict)
    produces = ("model.onnx",) + (("model.engine",) if args.format == "engine" else ())
    with noise.quiet(args.verbose), staged_output(args.out, force=args.force, produces=produces) as stage:
        status = _run(args, recipe, stage)
    print(f"wrote {Path(args.out) / 'model.onnx'}" + (f" and {Path(args.out) / 'model.engine'}"
                                                      if args.format == "engine" else "")
          + f" (report: {Path(args.out) / 'report.json'})")
    return status


def _run(args, recipe, out: Path) -> int:
    result, optimized = _export(args, recipe, out)
    report = {"model": recipe.name, "inputs": list(recipe.input_names), "outputs": list(recipe.output_names),
              "exporter": result.exporter, "layout": args.layout, "target": result.target, "dtype": result.dtype,
              "opset": result.opset, "export_seconds": round(result.seconds, 2), **optimized}
    status = 0
    if not args.no_check:
        from ..ort import ProviderUnavailable

        from .main import UsageError

        try:
            rep = check_against_pytorch(recipe, result.path, providers=args.providers.split(","))
        except ProviderUnavailable as exc:
            raise UsageError(str(exc)) from exc
        for line in rep.lines():
            print(line)
        dtype = model_dtype(result.path)
        threshold = min_cosine(dtype)
        ok = rep.min_cosine >= threshold
        report.update(max_abs_error=rep.max_abs_error, min_cosine=rep.min_cosine, providers=rep.providers,
                      fp32_fallbacks=rep.fp32_fallbacks, check="PASS" if ok else "FAIL")
        print(f"{'PASS' if ok else 'FAIL'}: min cosine {rep.min_cosine:.6f} (threshold {threshold}, {dtype} model)")
        status = 0 if ok else 1
        from ..check.layers import layer_check

        status = max(status, layer_check(recipe, report))
    if args.format == "engine":
        from ..build import build_engine
        from ..progress import step

        with step("building the TensorRT engine"):
            build_engine(result.path, out / "model.engine")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return status
