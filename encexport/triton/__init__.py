"""Triton Inference Server model repositories for an exported encoder (docs/deployment.md).

Flavours: `onnxruntime` (ORT backend + the custom-op library), `tensorrt` (tensorrt_plan + the plugin
library), `python` (Python backend running ONNX Runtime, with a tokenizer model and a text-in ensemble).
`server` runs nvidia-pytriton's tritonserver on a repository (`encexport serve`).
"""

from .errors import DeployError
from .repository import FLAVOURS, RepositoryOptions, RepositoryResult, write_repository

__all__ = ["FLAVOURS", "DeployError", "RepositoryOptions", "RepositoryResult", "write_repository"]
