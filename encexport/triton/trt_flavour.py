"""TensorRT backend flavour: `platform: "tensorrt_plan"` config, 1/model.plan, and the plugin library.

The plan is the engine given with --engine, or one built here when `tensorrt` imports; otherwise the
folder is written without it (place model.plan in 1/ later). The plugin is NOT named in config.pbtxt:
the tensorrt backend loads plugin libraries at start-up from
  tritonserver --backend-config=tensorrt,plugins="<repo>/<model>/libencexport_trt.so"
(a plain dlopen after libnvinfer is loaded, when the library self-registers its creator). LD_PRELOAD does
not work for this library: it would be loaded before libnvinfer, and it then skips self-registration.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import pbtxt
from .onnx_io import read_io


def _engine(onnx_path: Path, engine: Path | None, dest: Path) -> Path | None:
    if engine is not None:
        shutil.copy2(engine, dest)
        return dest
    try:
        import tensorrt  # noqa: F401

        from ..build import build_engine
    except ImportError:
        return None
    return build_engine(onnx_path, dest)


def write(model_dir: Path, onnx_path: Path, plugin: Path | None, *, engine: Path | None, max_batch: int,
          instances: int, kind: str) -> tuple[Path, Path | None]:
    """(model folder, plan or None). TensorRT serves on GPUs only: kind is forced to gpu."""
    (model_dir / "1").mkdir(parents=True)
    plan = _engine(onnx_path, engine, model_dir / "1" / "model.plan")
    if plugin is not None:
        shutil.copy2(plugin, model_dir / plugin.name)
    inputs, outputs = read_io(onnx_path)  # the engine keeps the ONNX graph's I/O names and types
    batched = max_batch > 0
    text = (pbtxt.header(model_dir.name, max_batch, platform="tensorrt_plan")
            + 'default_model_filename: "model.plan"\n'
            + pbtxt.tensors("input", inputs, batched) + pbtxt.tensors("output", outputs, batched)
            + pbtxt.instance_group(instances, "gpu") + pbtxt.dynamic_batching(max_batch))
    (model_dir / "config.pbtxt").write_text(text)
    return model_dir, plan
