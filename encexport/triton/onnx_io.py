"""Inputs and outputs of an ONNX model as Triton sees them: name, data type, dims (-1 where dynamic)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# ONNX TensorProto element type -> Triton config data type.
_TRITON_TYPES = {1: "TYPE_FP32", 2: "TYPE_UINT8", 3: "TYPE_INT8", 5: "TYPE_INT16", 6: "TYPE_INT32",
                 7: "TYPE_INT64", 8: "TYPE_STRING", 9: "TYPE_BOOL", 10: "TYPE_FP16", 11: "TYPE_FP64",
                 16: "TYPE_BF16"}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    data_type: str
    dims: tuple[int, ...]  # full ONNX shape, batch dimension included

    def config_dims(self, batched: bool) -> tuple[int, ...]:
        """Triton dims: without the batch dimension when the model is batched (max_batch_size > 0)."""
        return self.dims[1:] if batched else self.dims


def _spec(value) -> TensorSpec:
    tensor_type = value.type.tensor_type
    if tensor_type.elem_type not in _TRITON_TYPES:
        raise ValueError(f"{value.name}: ONNX element type {tensor_type.elem_type} has no Triton equivalent")
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim)
    return TensorSpec(value.name, _TRITON_TYPES[tensor_type.elem_type], dims)


def read_io(onnx_path: Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    import onnx

    # Only the graph signature is needed: skip external weights.
    model = onnx.load(str(onnx_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [_spec(v) for v in model.graph.input if v.name not in initializers]
    return inputs, [_spec(v) for v in model.graph.output]
