"""`encexport build`: a TensorRT engine from an exported model, with the EncoderOnlyAttention plugin loaded."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("build", help="build a TensorRT engine (.engine) from an exported ONNX model")
    p.add_argument("--onnx", required=True, help="exported model (.onnx)")
    p.add_argument("--out", required=True, help="engine file to write (.engine)")
    p.add_argument("--plugin", default="auto",
                   help="libencexport_trt.so: 'auto' (the one built into encexport/_lib) or a path")
    for bound in ("min", "opt", "max"):
        p.add_argument(f"--{bound}", default=None, metavar="SHAPES",
                       help=f"{bound} shapes of the optimization profile, e.g. query:1x128x768,lengths:1 "
                            "(inputs not named get defaults per dynamic axis)")
    p.add_argument("--timing-cache", default=None, help="timing cache file, read if present and updated")
    p.add_argument("--workspace-mib", type=int, default=None, help="builder workspace limit")
    p.add_argument("--verbose", action="store_true", help="TensorRT's verbose log")
    p.add_argument("--native-attention", action="store_true",
                   help="plugin-free comparison engine: our nodes rewritten into TensorRT's own TRT_Attention "
                        "(written next to --out as *.native.onnx; needs TensorRT >= 10.15)")
    p.set_defaults(func=run)


def run(args) -> int:
    from encexport import build

    try:
        shapes = [build.parse_shapes(getattr(args, b)) for b in ("min", "opt", "max")]
        onnx_path = args.onnx
        if args.native_attention:
            from pathlib import Path

            from encexport.graph.tensorrt_native import build_native_attention_onnx

            onnx_path = Path(args.out).with_suffix(".native.onnx")
            build_native_attention_onnx(args.onnx, onnx_path)
            print(f"[build] wrote {onnx_path} (TRT_Attention in place of our nodes)")
        build.build_engine(onnx_path, args.out, plugin=args.plugin, min_shapes=shapes[0], opt_shapes=shapes[1],
                           max_shapes=shapes[2], timing_cache=args.timing_cache,
                           workspace_bytes=args.workspace_mib * 2**20 if args.workspace_mib else None,
                           verbose=args.verbose)
    except (build.TensorRTUnavailable, FileNotFoundError, ValueError) as exc:
        from encexport.cli.main import UsageError

        raise UsageError(str(exc)) from exc
    return 0
