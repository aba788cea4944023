"""ONNX Runtime backend flavour: config.pbtxt + 1/model.onnx + the custom-op library.

Triton's onnxruntime backend registers each `model_operations.op_library_filename` with
RegisterCustomOpsLibrary (a dlopen) for every model instance. A relative name is resolved against the
server's working directory, not the model folder, so the absolute path where tritonserver will see the
copied library is written: under `deploy_root`, the folder where the server sees the repository (the
repository itself by default; e.g. /models when it is mounted into a container).
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from . import pbtxt
from .onnx_io import read_io


def write(model_dir: Path, onnx_path: Path, library: Path, *, deploy_root: PurePosixPath, max_batch: int,
          instances: int, kind: str) -> Path:
    (model_dir / "1").mkdir(parents=True)
    shutil.copy2(onnx_path, model_dir / "1" / "model.onnx")
    shutil.copy2(library, model_dir / library.name)
    inputs, outputs = read_io(onnx_path)
    batched = max_batch > 0
    seen_at = deploy_root / model_dir.name / library.name
    text = (pbtxt.header(model_dir.name, max_batch, backend="onnxruntime")
            + pbtxt.tensors("input", inputs, batched) + pbtxt.tensors("output", outputs, batched)
            + pbtxt.instance_group(instances, kind) + pbtxt.dynamic_batching(max_batch)
            + f"model_operations {{ op_library_filename: [ {pbtxt.quote(seen_at)} ] }}\n")
    (model_dir / "config.pbtxt").write_text(text)
    return model_dir
