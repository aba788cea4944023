"""Fuse the rest of the encoder the way ONNX Runtime's transformers optimizer does, keeping our attention node.

The stock recipe for fast BERT-family inference in ORT is `onnxruntime.transformers.optimizer` (fused
EmbedLayerNormalization, SkipLayerNormalization, BiasGelu, Attention) plus fp16 conversion. Run on an encexport
export, its fusions apply to everything around our node -- once its shape inference knows that the node's
output has the query's type and shape, which is what we teach it here (ORT's own rule for pass-through ops).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import onnx

from . import contract
from .onnx_shapes import annotate_attention_shapes


@contextlib.contextmanager
def _symbolic_inference_knows_our_node() -> Iterator[None]:
    """Within the block, ORT's symbolic shape inference passes input 0's shape/type through our op."""
    import onnxruntime.transformers.shape_infer_helper  # noqa: F401 - puts ORT's tools folder on sys.path

    modules = [importlib.import_module(name) for name in ("symbolic_shape_infer", "onnxruntime.tools.symbolic_shape_infer")
               if name in sys.modules or importlib.util.find_spec(name)]
    originals = []
    for module in modules:
        cls = module.SymbolicShapeInference
        original = cls.__init__

        def patched(self, *args, __original=original, **kwargs):
            __original(self, *args, **kwargs)
            self.dispatcher_[contract.OP_TYPE] = self._pass_on_shape_and_type

        cls.__init__ = patched
        originals.append((cls, original))
    try:
        yield
    finally:
        for cls, original in originals:
            cls.__init__ = original


def optimize_for_ort(onnx_path: str | Path, out_path: str | Path, *, num_heads: int, hidden_size: int,
                     fp16: bool = True) -> dict[str, int]:
    """Write an optimized copy of `onnx_path`; returns the op histogram of the result."""
    from onnxruntime.transformers.optimizer import optimize_model

    out_path = Path(out_path).resolve()
    model = annotate_attention_shapes(onnx.load(str(onnx_path)))
    # ORT's optimizer drops scratch files (shape-inference temporaries, external data) into the working folder.
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch), _symbolic_inference_knows_our_node():
        annotated = Path(scratch) / "annotated.onnx"
        onnx.save(model, str(annotated))
        # opt_level=0: graph fusions in Python only. ORT's own session-level pass would need the custom-op
        # library loaded into the optimizer's private session; the runtime session does those passes anyway.
        optimized = optimize_model(str(annotated), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                                   opt_level=0)
        if fp16:
            optimized.convert_float_to_float16(keep_io_types=True)
        optimized.save_model_to_file(str(out_path))
    return dict(Counter(n.op_type for n in optimized.model.graph.node))
