"""`encexport triton`: write (or add to) a Triton Inference Server model repository for an exported encoder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("triton", help="write a Triton model repository (onnxruntime / tensorrt / python flavours)")
    p.add_argument("--model", required=True, help="recipe name, e.g. all-MiniLM-L6-v2")
    p.add_argument("--repo", required=True,
                   help="model repository folder (created; an existing one is added to, model folder by folder)")
    p.add_argument("--flavour", choices=("onnxruntime", "tensorrt", "python", "all"), default="all")
    p.add_argument("--onnx", type=Path,
                   help="an exported model.onnx, deployed as given by every flavour (default: export one now)")
    p.add_argument("--no-optimize", action="store_true",
                   help="the onnxruntime flavour deploys the plain export instead of the ORT-optimized model "
                        "(`encexport export --optimize`: fused kernels around our node, fp16 weights)")
    p.add_argument("--engine", type=Path, help="TensorRT engine for the tensorrt flavour (copied to model.plan)")
    p.add_argument("--max-batch", type=int, default=32, help="max_batch_size (0 disables batching)")
    p.add_argument("--instances", type=int, default=1, help="instances per device")
    p.add_argument("--kind", choices=("auto", "gpu", "cpu"), default="auto",
                   help="instance kind: auto (default) is gpu when this machine has a visible GPU, else cpu "
                        "(tensorrt is always gpu)")
    p.add_argument("--deploy-root", "--server-repo", dest="deploy_root", metavar="PATH",
                   help="absolute folder where tritonserver will see --repo (e.g. /models in a container); every "
                        "path written into the configs is under it (default: --repo itself)")
    p.add_argument("--stub-numpy", type=Path, help=argparse.SUPPRESS)  # moved to `encexport serve`: refused
    p.add_argument("--force", action="store_true", help="replace model folders that exist with different content")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..triton import FLAVOURS, DeployError, RepositoryOptions, write_repository
    from .main import UsageError

    if args.max_batch < 0 or args.instances < 1:
        raise UsageError("--max-batch must be >= 0 and --instances >= 1")
    if args.stub_numpy is not None:
        raise UsageError("--stub-numpy moved to `encexport serve REPO --stub-numpy DIR`: the repository keeps no "
                         "path of this machine (the server's Python installs REPO/requirements.txt)")
    flavours = FLAVOURS if args.flavour == "all" else (args.flavour,)
    if "onnxruntime" in flavours and not args.no_optimize and args.onnx is None:
        _refuse_unfused_family(args.model)
    try:
        result = write_repository(RepositoryOptions(
            model=args.model, repo=Path(args.repo), flavours=flavours, onnx=args.onnx,
            optimize=not args.no_optimize, engine=args.engine, max_batch=args.max_batch, instances=args.instances,
            kind=args.kind, force=args.force, deploy_root=args.deploy_root))
    except DeployError as exc:
        raise UsageError(str(exc)) from None
    print(result.kind_note)
    for label, names in (("added", result.added), ("replaced", result.replaced), ("unchanged", result.unchanged)):
        for name in names:
            print(f"{label:9} {result.repo / name}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"repository {result.repo} ({len(result.present)} models) for a server that sees it at "
          f"{result.deploy_root}")
    print(f"serve it here: encexport serve {result.repo}; elsewhere: {result.repo / 'SERVE.md'}")
    return 0


def _refuse_unfused_family(model: str) -> None:
    """The optimized onnxruntime flavour of a family ORT's optimizer cannot fuse: refused before any export."""
    from ..graph.ort_optimizer import unfused_family
    from ..models import get_recipe
    from .main import UsageError

    reason = unfused_family(get_recipe(model))
    if reason:
        raise UsageError(f"{reason}; pass --no-optimize to deploy the plain export in the onnxruntime flavour")
