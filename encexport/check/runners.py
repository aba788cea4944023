"""Polygraphy runners: the unmodified PyTorch model, ONNX Runtime with the encexport library, TensorRT."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from polygraphy.backend.base import BaseLoader, BaseRunner
from polygraphy.common import TensorMetadata


class EncexportSession(BaseLoader):
    """Loader: an onnxruntime.InferenceSession with libencexport_ort.so registered.

    Polygraphy's own SessionFromOnnx builds its SessionOptions internally, leaving no way to register a
    custom-op library, so this loader replaces it in front of the stock OnnxrtRunner.
    """

    def __init__(self, model_path, providers=None, fix="ask for CPUExecutionProvider"):
        self.model_path = str(model_path)
        self.providers = list(providers or ["CPUExecutionProvider"])
        self.fix = fix

    def call_impl(self):
        from .. import ort

        session = ort.session(self.model_path, providers=self.providers)
        ort.require_provider(session, self.providers, fix=self.fix)  # never a quiet CPU run in place of CUDA
        return session


def onnxrt_runner(model_path: Path, providers: list[str], name: str, *, required: bool = True):
    """required=False: a provider added because this onnxruntime has it, not asked for (still never replaced by
    another quietly)."""
    from polygraphy.backend.onnxrt import OnnxrtRunner

    fix = "drop it from --providers" if required else "uninstall onnxruntime-gpu or make CUDA usable"
    return OnnxrtRunner(EncexportSession(model_path, providers, fix=fix), name=name)


class TorchRunner(BaseRunner):
    """The PyTorch reference on the CPU in fp32 (Polygraphy's PytRunner always moves inputs to CUDA)."""

    def __init__(self, module, input_names, output_names, name="pytorch", *, input_dtype=np.int64, input_rank=2):
        super().__init__(name=name, prefix="pytorch-runner")
        self.module, self.input_names, self.output_names = module, list(input_names), list(output_names)
        self.input_dtype, self.input_rank = input_dtype, input_rank  # token ids [B, S]; images float [B, C, H, W]

    def activate_impl(self):
        self.module.eval()

    def get_input_metadata_impl(self):
        meta = TensorMetadata()
        for n in self.input_names:
            meta.add(n, self.input_dtype, (-1,) * self.input_rank)
        return meta

    def infer_impl(self, feed_dict):
        import time

        import torch

        start = time.perf_counter()
        with torch.no_grad():
            outs = self.module(**{n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in feed_dict.items()})
        self.inference_time = time.perf_counter() - start  # Comparator sums it
        return OrderedDict((n, o.float().numpy()) for n, o in zip(self.output_names, outs))

    def deactivate_impl(self):
        pass


def trt_runner(model_path: Path, engine: Path | None):
    """TensorRT from a prebuilt engine or the ONNX model, with the plugin library registered."""
    import tensorrt as trt
    from polygraphy.backend.trt import EngineFromBytes, EngineFromNetwork, NetworkFromOnnxPath, TrtRunner
    from polygraphy.backend.common import BytesFromPath

    from ..build import load_plugin, plugin_library_path

    load_plugin(trt, plugin_library_path("auto"))
    if engine is not None:
        return TrtRunner(EngineFromBytes(BytesFromPath(str(engine))), name="tensorrt")
    return TrtRunner(EngineFromNetwork(NetworkFromOnnxPath(str(model_path))), name="tensorrt")
