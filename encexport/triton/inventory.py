"""What a model repository holds, read back from its config.pbtxt files (no Triton package needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelInfo:
    """What config.pbtxt says about one model folder, enough to choose, check and describe it."""

    name: str
    backend: str  # backend name, or the platform ("ensemble", "tensorrt_plan")
    kind: str  # "gpu", "cpu" or "" (ensembles)
    steps: tuple[str, ...] = ()  # an ensemble's models
    op_libraries: tuple[str, ...] = ()  # the onnxruntime backend's model_operations.op_library_filename


def read_model(folder: Path) -> ModelInfo | None:
    config = Path(folder) / "config.pbtxt"
    if not config.is_file():
        return None
    text = config.read_text(errors="replace")
    backend = re.search(r'^(?:backend|platform):\s*"([^"]+)"', text, re.M)
    kind = re.search(r"kind:\s*KIND_(GPU|CPU)", text)
    libraries = re.search(r"op_library_filename:\s*\[([^\]]*)\]", text)
    return ModelInfo(Path(folder).name, backend.group(1) if backend else "", kind.group(1).lower() if kind else "",
                     tuple(re.findall(r'model_name:\s*"([^"]+)"', text)),
                     tuple(re.findall(r'"([^"]+)"', libraries.group(1))) if libraries else ())


def read_models(repository: Path) -> dict[str, ModelInfo]:
    """{name: ModelInfo} of every model folder (a folder with config.pbtxt) in `repository`."""
    found = (read_model(p) for p in sorted(Path(repository).iterdir()) if p.is_dir())
    return {m.name: m for m in found if m is not None}
