"""encexport: encoder models from PyTorch to ONNX Runtime / TensorRT through one bidirectional attention node."""

from . import _checkout, contract
from .backends import (AttentionType, create_encoder_only_attention_backend, get_attn_backend,
                       registered_backends)
from .layer import EncoderOnlyAttention
from .ops import encoder_only_attention, reference_attention
from .symbolic import TARGETS, export_target

__all__ = [
    "AttentionType",
    "EncoderOnlyAttention",
    "TARGETS",
    "contract",
    "create_encoder_only_attention_backend",
    "encoder_only_attention",
    "export_target",
    "get_attn_backend",
    "reference_attention",
    "registered_backends",
]
__version__ = "0.1.0"

_checkout.map_recipes()
