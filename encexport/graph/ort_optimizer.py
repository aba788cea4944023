"""Fuse the rest of the encoder the way ONNX Runtime's transformers optimizer does, keeping our attention node.

The stock recipe for fast BERT-family inference in ORT is `onnxruntime.transformers.optimizer` (fused
EmbedLayerNormalization, SkipLayerNormalization, BiasGelu, Attention) plus fp16 conversion. Run on an encexport
export, its fusions apply to everything around our node -- once its shape inference knows the node's output
type and shape, which is what we teach it here. Two rewrites then finish what its patterns cannot see in our
graphs: the embedding layer (fuse_embedding.py) and the Split between the fused QKV projection and our node
(fuse_qkv.py), so that the optimized model runs as few kernels as the stock one.

The whole path from a recipe (export, optimize, fp16) is encexport.export.optimized.
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
from onnx import helper

from .. import contract
from .fuse_embedding import fuse_embedding_layer_norm
from .fuse_qkv import pack_qkv_inputs
from .nodes import attention_output_width
from .shapes import annotate_attention_shapes


def _infer_attention(self, node) -> None:
    """Our node's output: the query's type and leading dims, num_heads*head_size wide (packed q|k|v rows included)."""
    shape = self._get_shape(node, 0)
    if shape:
        shape = [*shape[:-1], attention_output_width(node)]
    elem_type = self.known_vi_[node.input[0]].type.tensor_type.elem_type
    self.known_vi_[node.output[0]].CopyFrom(helper.make_tensor_value_info(node.output[0], elem_type, shape))


def _expand_to_computed_shape(self, node, original) -> None:
    """Expand whose target shape is only known at run time: fresh symbolic dims instead of an inference failure.

    The packed wrapper scatters tokens back with index_copy, exported as an Expand to a shape computed from the
    data; ORT's inference stops there (an assertion), and with it every shape-checked fusion of the whole model
    (SkipLayerNormalization). The output's rank is still known: that of the target-shape vector.
    """
    original(node)
    target_rank = (self._get_shape(node, 1) or [None])[0]
    if self._try_get_value(node, 1) is not None or not isinstance(target_rank, int):
        return
    rank = max(self._get_shape_rank(node, 0), target_rank)
    elem_type = self.known_vi_[node.input[0]].type.tensor_type.elem_type
    dims = [str(d) for d in self._new_symbolic_shape(rank, node)]
    self.known_vi_[node.output[0]].CopyFrom(helper.make_tensor_value_info(node.output[0], elem_type, dims))


@contextlib.contextmanager
def symbolic_inference_knows_our_graphs() -> Iterator[None]:
    """Within the block, ORT's symbolic shape inference infers our op and the packed wrapper's scatter."""
    import onnxruntime.transformers.shape_infer_helper  # noqa: F401 - puts ORT's tools folder on sys.path

    modules = [importlib.import_module(name) for name in ("symbolic_shape_infer", "onnxruntime.tools.symbolic_shape_infer")
               if name in sys.modules or importlib.util.find_spec(name)]
    originals = []
    for module in modules:
        cls = module.SymbolicShapeInference
        original = cls.__init__

        def patched(self, *args, __original=original, **kwargs):
            __original(self, *args, **kwargs)
            self.dispatcher_[contract.OP_TYPE] = lambda node: _infer_attention(self, node)
            expand = self.dispatcher_["Expand"]
            self.dispatcher_["Expand"] = lambda node: _expand_to_computed_shape(self, node, expand)

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
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch), symbolic_inference_knows_our_graphs():
        annotated = Path(scratch) / "annotated.onnx"
        onnx.save(model, str(annotated))
        # opt_level=0: graph fusions in Python only. ORT's own session-level pass would need the custom-op
        # library loaded into the optimizer's private session; the runtime session does those passes anyway.
        optimized = optimize_model(str(annotated), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                                   opt_level=0)
        fuse_embedding_layer_norm(optimized)
        pack_qkv_inputs(optimized)
        if fp16:
            optimized.convert_float_to_float16(keep_io_types=True)
        optimized.save_model_to_file(str(out_path))
    return dict(Counter(n.op_type for n in optimized.model.graph.node))


# Families whose exports the "bert" model type fuses around our node (SkipLayerNormalization and BiasGelu in
# every layer; EmbedLayerNormalization for text). ModernBERT (rotary embeddings, bias-free LayerNorms, GeGLU)
# gets none of them, only its Gelu fused: optimized, it would be little more than an fp16 copy of the plain export.
FUSED_FAMILIES = ("bert", "roberta", "xlm-roberta", "distilbert", "vit")


def unfused_family(recipe) -> str | None:
    """Why ORT's optimizer cannot make `recipe`'s export faster, or None when it can (no model is loaded)."""
    if set(recipe.model_types) & set(FUSED_FAMILIES):
        return None
    return (f"ONNX Runtime's transformers optimizer does not fuse {'/'.join(recipe.model_types)} models (it fuses "
            f"{', '.join(FUSED_FAMILIES)})")
