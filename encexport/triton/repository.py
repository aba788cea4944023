"""`encexport triton`: one model repository, any mix of flavours, plus SERVE.md and requirements.txt.

The whole run is built in a staging folder next to the repository and moved into place only when complete:
a new repository is one rename; an existing one is merged, one rename per model folder (the previous folder
set aside first and restored if a later move fails). A folder this run would write that already exists with
the same content is kept; one with different content needs `force`. SERVE.md and requirements.txt describe
every model present after the merge. A failure before the moves leaves the repository as it was.

Every path written into a config is the one the server sees (`deploy_root`, default the repository itself).
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import native
from . import ort_flavour, python_flavour, trt_flavour
from .devices import resolve_kind
from .errors import DeployError
from .inventory import ModelInfo, read_model, read_models

FLAVOURS = ("onnxruntime", "tensorrt", "python")
TOP_FILES = ("SERVE.md", "requirements.txt")


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
    kind: str = "auto"  # auto: gpu when this machine has a visible GPU, else cpu
    force: bool = False  # replace model folders whose content differs
    deploy_root: str | None = None  # where tritonserver sees `repo` (absolute; default: repo's absolute path)


@dataclass
class RepositoryResult:
    repo: Path
    deploy_root: str
    kind_note: str
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    present: dict[str, ModelInfo] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def base_name(model: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", model.lower()).strip("_")


def _check(opts: RepositoryOptions) -> tuple[Path, str]:
    """The repository's absolute path and the deploy root; every mistake found before any work is done."""
    unknown = set(opts.flavours) - set(FLAVOURS)
    if unknown:
        raise DeployError(f"unknown flavour(s) {', '.join(sorted(unknown))}; choose from {', '.join(FLAVOURS)}")
    repo = Path(opts.repo).expanduser().absolute()
    if repo.exists() and not repo.is_dir():
        raise DeployError(f"{repo} exists and is not a folder; choose another --repo")
    root = str(opts.deploy_root) if opts.deploy_root else str(repo)
    if not PurePosixPath(root).is_absolute():
        raise DeployError(f"--deploy-root {root!r} is not absolute: pass the folder where the server sees the "
                          "repository, e.g. --deploy-root /models")
    for flag, path in (("--onnx", opts.onnx), ("--engine", opts.engine)):
        if path is not None and not Path(path).is_file():
            raise DeployError(f"{flag} {path} not found; pass an existing file")
    return repo, str(PurePosixPath(root))


def write_repository(opts: RepositoryOptions) -> RepositoryResult:
    """Build the requested flavours, then merge them into `opts.repo` (see the module's docstring)."""
    from .. import ort
    from ..models import get_recipe

    repo, deploy_root = _check(opts)
    kind, kind_note = resolve_kind(opts.kind)
    recipe = get_recipe(opts.model)
    try:
        library = ort.library_path()
    except FileNotFoundError as exc:
        raise DeployError(f"{exc}; build it first: encexport build-plugins") from None
    created = _make_parents(repo.parent)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{repo.name}-", suffix=".partial", dir=_staging_parent(repo)))
    except OSError as exc:
        _remove_created(created)
        raise DeployError(f"cannot write next to {repo} ({exc.strerror}); choose a writable --repo") from None
    result = RepositoryResult(repo, deploy_root, kind_note)
    try:
        new = staging / "new"
        new.mkdir()
        built = _build(new, recipe, opts, kind, library, deploy_root, staging, result)
        plan = _plan(repo, new, built, opts.force, deploy_root, result)
        present = {**(read_models(repo) if repo.is_dir() else {}), **{n: read_model(new / n) for n in built}}
        result.present = dict(sorted(present.items()))
        _write_top_files(new, deploy_root, result.present)
        _commit(repo, staging, new, plan + [f for f in TOP_FILES if (new / f).exists()])
    except OSError as exc:  # a full disk, a folder that vanished: nothing of this run is left in the repository
        raise RuntimeError(f"writing the repository failed ({exc}); {repo} is as it was before this run") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not repo.exists():  # failed before the repository appeared: the folders made for it go too
            _remove_created(created)
    return result


def _build(new: Path, recipe, opts: RepositoryOptions, kind: str, library: Path, deploy_root: str, staging: Path,
           result: RepositoryResult) -> list[str]:
    """Every model folder of this run, written under `new`; returns their names."""
    base = base_name(recipe.name)
    sources = _sources(recipe, opts, staging / "export")
    common = dict(max_batch=opts.max_batch, instances=opts.instances)
    built: list[str] = []
    encoders = {}  # ensemble suffix -> (encoder model name, the ONNX model it serves)
    if "onnxruntime" in opts.flavours:
        name = f"{base}_ort"
        ort_flavour.write(new / name, sources["onnxruntime"], library, deploy_root=PurePosixPath(deploy_root),
                          kind=kind, **common)
        built.append(name)
        encoders["ort"] = name, sources["onnxruntime"]
    if "tensorrt" in opts.flavours:
        name = f"{base}_trt"
        _, plan = trt_flavour.write(new / name, sources["tensorrt"], _trt_plugin(), engine=opts.engine, kind=kind,
                                    **common)
        built.append(name)
        encoders["trt"] = name, sources["tensorrt"]
        if plan is None:
            result.notes.append(f"{name}/1/model.plan not written (no --engine, and tensorrt does not import "
                                "here); build it on the serving GPU and place it there")
    if "python" in opts.flavours:
        name = f"{base}_py"
        python_flavour.write_encoder(new / name, sources["python"], library, kind=kind, **common)
        built.append(name)
        encoders["py"] = name, sources["python"]
    built += _text_front(new, base, recipe, encoders, opts)
    return built


def _text_front(new: Path, base: str, recipe, encoders, opts: RepositoryOptions) -> list[str]:
    """The tokenizer model and one text-in ensemble per encoder flavour (sentence encoders only)."""
    from .onnx_io import read_io

    _, tokenizer, _ = recipe.load()
    if tokenizer is None or not encoders:
        return []
    inputs, _ = read_io(next(iter(encoders.values()))[1])  # every flavour's model has the same inputs
    tok = f"{base}_tokenizer"
    python_flavour.write_tokenizer(new / tok, tokenizer, inputs, max_batch=opts.max_batch, instances=opts.instances)
    built = [tok]
    for suffix, (encoder, onnx_path) in encoders.items():
        name = f"{base}_embed" if suffix == "py" else f"{base}_embed_{suffix}"
        python_flavour.write_ensemble(new / name, tok, encoder, onnx_path, max_batch=opts.max_batch)
        built.append(name)
    return built


def _sources(recipe, opts: RepositoryOptions, tmp: Path) -> dict[str, Path]:
    """The ONNX model each flavour deploys: --onnx as given; else, unless optimize is off, the ORT-optimized export
    for the onnxruntime flavour (its backend runs ORT's fused kernels) and the plain export for the others
    (TensorRT cannot parse ORT's contrib ops; the Python backend serves the fp32 graph)."""
    if opts.onnx:
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
    return native.library_path("trt") if native.available("trt") else None


def _same_tree(a: Path, b: Path) -> bool:
    if not (a.is_dir() and b.is_dir()):
        return False
    files = [sorted(str(p.relative_to(root)) for p in root.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts) for root in (a, b)]
    return files[0] == files[1] and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files[0])


def _plan(repo: Path, new: Path, built: list[str], force: bool, deploy_root: str,
          result: RepositoryResult) -> list[str]:
    """The model folders to move into `repo`; refuses (before any move) what would need --force or would leave
    the repository describing two different serving roots."""
    conflicts, moves = [], []
    for name in built:
        target = repo / name
        if not (target.exists() or target.is_symlink()):
            result.added.append(name)
            moves.append(name)
        elif _same_tree(target, new / name):
            result.unchanged.append(name)
        else:
            conflicts.append(name)
            result.replaced.append(name)
            moves.append(name)
    if conflicts and not force:
        raise DeployError(f"{repo} already holds {', '.join(conflicts)} with different content (another export "
                          "or other options); pass --force to replace them, or choose another --repo. Nothing "
                          "was changed")
    if repo.is_dir():
        for name, info in read_models(repo).items():
            expected = str(PurePosixPath(deploy_root) / name / "libencexport_ort.so")
            stale = [lib for lib in info.op_libraries if name not in built and lib != expected]
            if stale:
                raise DeployError(f"{repo / name} names its custom-op library at {stale[0]}, not under "
                                  f"--deploy-root {deploy_root}: pass the --deploy-root it was written for, or "
                                  f"rewrite it too (--flavour onnxruntime --force). Nothing was changed")
    return moves


def _write_top_files(new: Path, deploy_root: str, present: dict[str, ModelInfo]) -> None:
    python_models = [m for m in present.values() if m.backend == "python"]
    encoder_kinds = {m.kind for m in python_models if not m.name.endswith("_tokenizer")}
    tokenizer = any(m.name.endswith("_tokenizer") for m in python_models)
    if python_models:
        (new / "requirements.txt").write_text(python_flavour.requirements(encoder_kinds, tokenizer))
    (new / "SERVE.md").write_text(serve_notes(deploy_root, present))


def _make_parents(folder: Path) -> list[Path]:
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeployError(f"cannot create {folder} ({exc.strerror}); choose a writable --repo") from None
    return missing  # deepest first


def _remove_created(created: list[Path]) -> None:
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            return


def _staging_parent(repo: Path) -> Path:
    """Next to the repository, unless the repository is a mount point (a rename cannot cross devices): then in it."""
    if repo.is_dir() and os.stat(repo).st_dev != os.stat(repo.parent).st_dev:
        return repo
    return repo.parent


def _commit(repo: Path, staging: Path, new: Path, names: list[str]) -> None:
    if not repo.exists():
        os.rename(new, repo)  # a new repository appears whole
        return
    old = staging / "old"
    old.mkdir()
    done: list[tuple[Path, Path]] = []
    try:
        for name in names:
            target = repo / name
            if target.exists() or target.is_symlink():
                os.rename(target, old / name)
                done.append((old / name, target))
            os.rename(new / name, target)
            done.append((target, new / name))
    except OSError:
        for src, dst in reversed(done):
            os.rename(src, dst)
        raise


def serve_notes(deploy_root: str, present: dict[str, ModelInfo]) -> str:
    """SERVE.md: how to serve every model present, here and in a Triton container. It names the deploy root
    only, as the configs do."""
    root = PurePosixPath(deploy_root)
    rows = [f"| `{m.name}` | {m.backend}{' (' + ', '.join(m.steps) + ')' if m.steps else ''} | "
            f"{('KIND_' + m.kind.upper()) if m.kind else '-'} |" for m in present.values()]
    trt = [m.name for m in present.values() if m.backend == "tensorrt_plan"]
    python = any(m.backend == "python" for m in present.values())
    gpu = any(m.kind == "gpu" for m in present.values())
    server = [f"tritonserver --model-repository={root}"]
    if trt:
        server.append(f"--backend-config=tensorrt,plugins=\"{root / trt[0] / 'libencexport_trt.so'}\"")
    lines = ["# Serving this repository", "", "| model | backend | instances |", "|---|---|---|", *rows, "",
             f"Written for a server that sees this repository at `{root}` (`encexport triton --deploy-root`): the "
             "onnxruntime models name their custom-op library there. Nothing else in it depends on where it is.", "",
             "## With the tritonserver of nvidia-pytriton (`pip install -e '.[serve]'`)", "", "```bash",
             f"encexport serve {root}", "```", "",
             "It assembles the backend folder and library path that binary needs, hands this environment's "
             "packages to the Python models, loads the models its backends can serve (python, ensembles), prints "
             "the HTTP and gRPC endpoints, and stops on Ctrl-C.", "",
             "## With a Triton Inference Server (all backends)", "", "```bash"]
    if python:
        lines.append(f"pip install -r {root / 'requirements.txt'}   # in the server's Python, for the Python models")
    lines.append(" \\\n    ".join(server))
    lines += ["```", "", "In a container: mount this folder there, e.g. `docker run --gpus all -p8000:8000 -p8001:8001 "
              f"-v /path/to/this/folder:{root} nvcr.io/nvidia/tritonserver:<yy.mm>-py3 ...` and run the lines above "
              "inside it.", ""]
    if gpu or trt:
        lines += ["The copied libraries (`libencexport_ort.so`, `libencexport_trt.so`) are the ones this checkout "
                  "built: their CUDA architectures must include the serving GPUs' (the default build has sm_90 "
                  f"only; `encexport build-plugins --cuda-archs release` builds {native.RELEASE_CUDA_ARCHS}). The "
                  "onnxruntime backend needs onnxruntime >= 1.23; a TensorRT plan must be built by the server's "
                  "TensorRT version. See docs/deployment.md.", ""]
    return "\n".join(lines)
