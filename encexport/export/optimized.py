"""`encexport export --optimize`: export (fp32, our node), then ONNX Runtime's optimizer around it, fp16 weights.

The model behind the end-to-end figures and the Triton onnxruntime flavour.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from .. import contract
from ..graph.ort_optimizer import optimize_for_ort
from ..progress import step
from .to_onnx import ExportResult, export

# The exporter whose graphs the optimizer's patterns recognise: on a dynamo export its symbolic shape inference
# stops early and the shape-checked fusions (EmbedLayerNormalization, SkipLayerNormalization) never apply.
OPTIMIZE_EXPORTER = "legacy"

def export_optimized(recipe, out_dir: str | Path, *, layout: str = "padded", backend: str | None = None,
                     opset: int | None = None) -> tuple[ExportResult, dict[str, int]]:
    """Export (fp32, our node), optimize for ORT with fp16 weights and fp32 inputs/outputs into out_dir/model.onnx.

    Returns the result (dtype fp16) and the optimized model's op histogram. Nothing is written to out_dir unless
    the stock fusions did apply: a model without them would not be the fast one it claims to be.
    """
    out = Path(out_dir) / "model.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        plain = export(recipe, Path(tmp), exporter=OPTIMIZE_EXPORTER, layout=layout, backend=backend, opset=opset)
        optimized = Path(tmp) / "optimized.onnx"
        with step("optimizing for ONNX Runtime: the stock fusions around our node, fp16 weights"):
            histogram = optimize_for_ort(plain.path, optimized, num_heads=plain.config.num_attention_heads,
                                         hidden_size=plain.config.hidden_size)
        if not histogram.get("SkipLayerNormalization") or not histogram.get(contract.OP_TYPE):
            raise RuntimeError(f"ONNX Runtime's transformers optimizer fused no SkipLayerNormalization around our node "
                               f"in {recipe.name}; export it without --optimize")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(optimized, out)
    return dataclasses.replace(plain, path=out, dtype="fp16"), histogram
