"""`encexport triton`: write a Triton Inference Server model repository for an exported encoder."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("triton", help="write a Triton model repository (onnxruntime / tensorrt / python flavours)")
    p.add_argument("--model", required=True, help="recipe name, e.g. all-MiniLM-L6-v2")
    p.add_argument("--repo", required=True, help="model repository folder (created)")
    p.add_argument("--flavour", choices=("onnxruntime", "tensorrt", "python", "all"), default="all")
    p.add_argument("--onnx", type=Path,
                   help="an exported model.onnx, deployed as given by every flavour (default: export one now)")
    p.add_argument("--no-optimize", action="store_true",
                   help="the onnxruntime flavour deploys the plain export instead of the ORT-optimized model "
                        "(`encexport export --optimize`: fused kernels around our node, fp16 weights)")
    p.add_argument("--engine", type=Path, help="TensorRT engine for the tensorrt flavour (copied to model.plan)")
    p.add_argument("--max-batch", type=int, default=32, help="max_batch_size (0 disables batching)")
    p.add_argument("--instances", type=int, default=1, help="instances per device")
    p.add_argument("--kind", choices=("gpu", "cpu"), default="gpu", help="instance kind (tensorrt is always gpu)")
    p.add_argument("--server-repo", type=Path,
                   help="where tritonserver will see --repo (e.g. /models in a container); used for the "
                        "absolute custom-op library path in the onnxruntime config")
    p.add_argument("--stub-numpy", type=Path,
                   help="folder with numpy<2 put first on the Python-backend models' sys.path (needed for the "
                        "text tokenizer when this environment has numpy 2; see docs/deployment.md)")
    p.add_argument("--force", action="store_true", help="replace model folders that already exist")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..triton import FLAVOURS, RepositoryOptions, write_repository

    if args.max_batch < 0 or args.instances < 1:
        raise ValueError("--max-batch must be >= 0 and --instances >= 1")
    flavours = FLAVOURS if args.flavour == "all" else (args.flavour,)
    if "onnxruntime" in flavours and not args.no_optimize and args.onnx is None:
        _refuse_unfused_family(args.model)
    written = write_repository(RepositoryOptions(
        model=args.model, repo=Path(args.repo), flavours=flavours, onnx=args.onnx, optimize=not args.no_optimize,
        engine=args.engine, max_batch=args.max_batch, instances=args.instances, kind=args.kind, force=args.force,
        server_repo=args.server_repo, site_packages=_stub_paths(args.stub_numpy)))
    for name, folder in written.items():
        print(f"wrote {folder}")
    print(f"serving commands: {Path(args.repo) / 'SERVE.md'}")
    return 0


def _refuse_unfused_family(model: str) -> None:
    """The optimized onnxruntime flavour of a family ORT's optimizer cannot fuse: refused before any export."""
    from ..models import get_recipe

    from ..graph.ort_optimizer import unfused_family
    from .main import UsageError

    reason = unfused_family(get_recipe(model))
    if reason:
        raise UsageError(f"{reason}; pass --no-optimize to deploy the plain export in the onnxruntime flavour")


def _stub_paths(stub_numpy: Path | None) -> list[str]:
    from ..triton.python_flavour import site_packages

    if stub_numpy is None:
        return site_packages()
    if not (stub_numpy / "numpy").is_dir():
        raise FileNotFoundError(f"{stub_numpy}/numpy not found: pip install --target {stub_numpy} numpy==1.26.4")
    return [str(stub_numpy.resolve())] + site_packages()
