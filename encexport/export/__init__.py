"""Export: a recipe's model, attention patched, to ONNX with one encexport node per layer.

  encoders.py   the exported modules (inputs -> lengths, pooling) and the reference/patched pair
  inputs.py     tokenised sentences or the recipe's example inputs
  to_onnx.py    torch.onnx export (legacy or dynamo), dynamic batch and sequence
  optimized.py  export + ONNX Runtime's optimizer + fp16 (`--optimize`)

The check of what was written is encexport.check.
"""

from .encoders import DTYPES, LAYOUTS, ImageEncoder, PackedSentenceEncoder, SentenceEncoder, build_encoders, wrap
from .inputs import recipe_inputs, tokenize
from .to_onnx import DEFAULT_OPSET, EXPORTERS, OUTPUT_NAMES, ExportResult, export

__all__ = ["DEFAULT_OPSET", "DTYPES", "EXPORTERS", "LAYOUTS", "OUTPUT_NAMES", "ExportResult", "ImageEncoder",
           "PackedSentenceEncoder", "SentenceEncoder", "build_encoders", "export", "recipe_inputs", "tokenize", "wrap"]
