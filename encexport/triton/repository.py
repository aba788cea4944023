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
    onnx: Path | None = None  # exported model; exported here when missing
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
    from models import get_recipe

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
        onnx_path = Path(opts.onnx) if opts.onnx else _export(recipe, Path(tmp))
        if not onnx_path.is_file():
            raise FileNotFoundError(f"{onnx_path} not found")
        common = dict(max_batch=opts.max_batch, instances=opts.instances)
        encoders = {}
        if "onnxruntime" in opts.flavours:
            name = f"{base}_ort"
            written[name] = ort_flavour.write(_fresh(repo / name, opts.force), onnx_path, ort.library_path(),
                                              server_repo=server_repo, kind=opts.kind, **common)
            encoders["ort"] = name
        if "tensorrt" in opts.flavours:
            name = f"{base}_trt"
            written[name], plan = trt_flavour.write(_fresh(repo / name, opts.force), onnx_path, _trt_plugin(),
                                                    engine=opts.engine, kind=opts.kind, **common)
            encoders["trt"] = name
            if plan is None:
                print(f"note: {name}/1/model.plan not written (no --engine, and tensorrt does not import here); "
                      "build it on the serving GPU and place it there")
        if "python" in opts.flavours:
            name = f"{base}_py"
            written[name] = python_flavour.write_encoder(_fresh(repo / name, opts.force), onnx_path,
                                                         ort.library_path(), kind=opts.kind,
                                                         paths=opts.site_packages, **common)
            encoders["py"] = name
        written.update(_text_front(repo, base, recipe, onnx_path, encoders, opts))
    (repo / "SERVE.md").write_text(serve_notes(repo, server_repo, written))
    return written


def _text_front(repo, base, recipe, onnx_path, encoders, opts) -> dict[str, Path]:
    """The tokenizer model and one text-in ensemble per encoder flavour (sentence encoders only)."""
    from .onnx_io import read_io

    _, tokenizer, _ = recipe.load()
    if tokenizer is None or not encoders:
        return {}
    inputs, _ = read_io(onnx_path)
    written = {}
    tok = f"{base}_tokenizer"
    written[tok] = python_flavour.write_tokenizer(_fresh(repo / tok, opts.force), tokenizer, inputs,
                                                  max_batch=opts.max_batch, instances=opts.instances,
                                                  paths=opts.site_packages)
    for suffix, encoder in encoders.items():
        name = f"{base}_embed" if suffix == "py" else f"{base}_embed_{suffix}"
        written[name] = python_flavour.write_ensemble(_fresh(repo / name, opts.force), tok, encoder, onnx_path,
                                                      max_batch=opts.max_batch)
    return written


def _export(recipe, tmp: Path) -> Path:
    from ..export import export

    return export(recipe, tmp).path


def _trt_plugin() -> Path | None:
    from ..ort import _LIB_DIR

    path = _LIB_DIR / "libencexport_trt.so"
    return path if path.is_file() else None


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
