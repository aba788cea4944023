"""`encexport triton`: one model repository, any mix of flavours, plus a SERVE.md with the server commands."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import ort_flavour, python_flavour, trt_flavour

FLAVOURS = ("onnxruntime", "tensorrt", "python")


@dataclass
class RepositoryOptions:
    model: str  # recipe name
    repo: Path
    flavours: tuple[str, ...] = FLAVOURS
    onnx: Path | None = None  # exported model, deployed as given by every flavour; exported here when missing
    optimize: bool = True  # the onnxruntime flavour exports the ORT-optimized model (encexport.export.optimized)
    engine: Path | None = None  # TensorRT plan for the tensorrt flavour
    max_batch: int = 32
    instances: int = 1
    kind: str = "gpu"
    force: bool = False
    server_repo: Path | None = None  # where tritonserver sees `repo` (default: its absolute path)
    site_packages: list[str] = field(default_factory=python_flavour.site_packages)


def base_name(model: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", model.lower()).strip("_")


def _fresh(folder: Path, force: bool) -> Path:
    if folder.exists():
        if not force:
            raise FileExistsError(f"{folder} already exists; pass --force to replace it")
        shutil.rmtree(folder)
    return folder


def write_repository(opts: RepositoryOptions) -> dict[str, Path]:
    """Write the requested flavours; returns {model name: folder}."""
    from ..models import get_recipe

    from .. import ort

    unknown = set(opts.flavours) - set(FLAVOURS)
    if unknown:
        raise ValueError(f"unknown flavour(s) {', '.join(sorted(unknown))}; choose from {', '.join(FLAVOURS)}")
    if opts.kind not in ("gpu", "cpu"):
        raise ValueError(f"--kind must be gpu or cpu, not {opts.kind!r}")
    recipe = get_recipe(opts.model)
    repo = Path(opts.repo).resolve()
    repo.mkdir(parents=True, exist_ok=True)
    server_repo = Path(opts.server_repo) if opts.server_repo else repo
    base = base_name(recipe.name)
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sources = _sources(recipe, opts, Path(tmp))
        common = dict(max_batch=opts.max_batch, instances=opts.instances)
        encoders = {}  # ensemble suffix -> (encoder model name, the ONNX model it serves)
        if "onnxruntime" in opts.flavours:
            name = f"{base}_ort"
            written[name] = ort_flavour.write(_fresh(repo / name, opts.force), sources["onnxruntime"],
                                              ort.library_path(), server_repo=server_repo, kind=opts.kind, **common)
            encoders["ort"] = name, sources["onnxruntime"]
        if "tensorrt" in opts.flavours:
            name = f"{base}_trt"
            written[name], plan = trt_flavour.write(_fresh(repo / name, opts.force), sources["tensorrt"],
                                                    _trt_plugin(), engine=opts.engine, kind=opts.kind, **common)
            encoders["trt"] = name, sources["tensorrt"]
            if plan is None:
                print(f"note: {name}/1/model.plan not written (no --engine, and tensorrt does not import here); "
                      "build it on the serving GPU and place it there")
        if "python" in opts.flavours:
            name = f"{base}_py"
            written[name] = python_flavour.write_encoder(_fresh(repo / name, opts.force), sources["python"],
                                                         ort.library_path(), kind=opts.kind,
                                                         paths=opts.site_packages, **common)
            encoders["py"] = name, sources["python"]
        written.update(_text_front(repo, base, recipe, encoders, opts))
    (repo / "SERVE.md").write_text(serve_notes(repo, server_repo, written))
    return written


def _text_front(repo, base, recipe, encoders, opts) -> dict[str, Path]:
    """The tokenizer model and one text-in ensemble per encoder flavour (sentence encoders only)."""
    from .onnx_io import read_io

    _, tokenizer, _ = recipe.load()
    if tokenizer is None or not encoders:
        return {}
    inputs, _ = read_io(next(iter(encoders.values()))[1])  # every flavour's model has the same inputs
    written = {}
    tok = f"{base}_tokenizer"
    written[tok] = python_flavour.write_tokenizer(_fresh(repo / tok, opts.force), tokenizer, inputs,
                                                  max_batch=opts.max_batch, instances=opts.instances,
                                                  paths=opts.site_packages)
    for suffix, (encoder, onnx_path) in encoders.items():
        name = f"{base}_embed" if suffix == "py" else f"{base}_embed_{suffix}"
        written[name] = python_flavour.write_ensemble(_fresh(repo / name, opts.force), tok, encoder, onnx_path,
                                                      max_batch=opts.max_batch)
    return written


def _sources(recipe, opts: RepositoryOptions, tmp: Path) -> dict[str, Path]:
    """The ONNX model each flavour deploys: --onnx as given; else, unless optimize is off, the ORT-optimized export
    for the onnxruntime flavour (its backend runs ORT's fused kernels) and the plain export for the others
    (TensorRT cannot parse ORT's contrib ops; the Python backend serves the fp32 graph)."""
    if opts.onnx:
        if not Path(opts.onnx).is_file():
            raise FileNotFoundError(f"{opts.onnx} not found")
        return dict.fromkeys(opts.flavours, Path(opts.onnx))
    sources = {}
    if "onnxruntime" in opts.flavours and opts.optimize:
        from ..export.optimized import export_optimized

        sources["onnxruntime"] = export_optimized(recipe, tmp / "optimized")[0].path
    plain = [f for f in opts.flavours if f not in sources]
    if plain:
        from ..export import export

        sources.update(dict.fromkeys(plain, export(recipe, tmp / "plain").path))
    return sources


def _trt_plugin() -> Path | None:
    from .. import native

    return native.library_path("trt") if native.available("trt") else None


def serve_notes(repo: Path, server_repo: Path, written: dict[str, Path]) -> str:
    names = sorted(written)
    trt = [n for n in names if (written[n] / "libencexport_trt.so").is_file()]
    lines = ["# Serving this repository", "", "Models: " + ", ".join(f"`{n}`" for n in names), "",
             "```bash", f"tritonserver --model-repository={server_repo}"]
    if trt:
        lines[-1] += " \\"
        lines.append(f"    --backend-config=tensorrt,plugins=\"{server_repo / trt[0] / 'libencexport_trt.so'}\"")
    lines += ["```", "", "The onnxruntime model's config names its custom-op library by absolute path; regenerate with "
              "`--server-repo` if the repository is mounted elsewhere. Python-backend models put the generating "
              "environment's site-packages on sys.path (the stub ignores PYTHONPATH). See docs/deployment.md.", ""]
    return "\n".join(lines)
