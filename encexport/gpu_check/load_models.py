"""The models the `load` step serves besides the fp16 export (prepare.py), made where the weights are.

    DEST/load/stock/model.onnx           the unmodified all-MiniLM-L6-v2 exported (legacy) and optimized the stock
                                         way: ORT's transformers optimizer (fused Attention, EmbedLayerNormalization,
                                         SkipLayerNormalization, BiasGelu), fp16 weights, fp32 inputs/outputs
    DEST/load/ours_optimized/model.onnx  `encexport export --optimize`: the same optimizer around our node

Each is about 45 MB and sits in its own folder, so each fits one transfer to the GPU machine on its own. Both
are run here once on the CPU provider against the reference embeddings before they travel: a broken model is
found here, not after a GPU run.
"""

from __future__ import annotations

import shutil
from collections import Counter
import tempfile
from pathlib import Path

import numpy as np

STOCK, OURS_OPTIMIZED = Path("load/stock/model.onnx"), Path("load/ours_optimized/model.onnx")


def _stock(recipe, module, config, out: Path) -> dict[str, int]:
    import onnx

    from ..bench.e2e import optimized_model  # the end-to-end benchmark's stock model, made the same way

    with tempfile.TemporaryDirectory() as tmp:
        optimized = optimized_model(module, config, Path(tmp), "stock")
        histogram = Counter(n.op_type for n in onnx.load(str(optimized), load_external_data=False).graph.node)
        if not histogram.get("Attention"):  # without ORT's fused attention it is not the stock fast path
            raise RuntimeError(f"ORT's optimizer fused no Attention in the stock {recipe.name} export: {histogram}")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(optimized, out)
    return dict(histogram)


def _check_on_cpu(path: Path, batch: dict[str, np.ndarray], reference: np.ndarray, needs_library: bool) -> float:
    """The smallest cosine of the model's embeddings (ORT CPU) with the reference; raises below fp16's bound."""
    import onnxruntime as ort

    from .. import ort as eort
    from ..check.tolerances import min_cosine

    options = eort.session_options() if needs_library else ort.SessionOptions()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    got = session.run(["sentence_embedding"], {n: batch[n] for n in names})[0].astype(np.float64)
    cos = (got * reference).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(reference, axis=-1))
    if cos.min() < min_cosine("fp16"):
        raise RuntimeError(f"{path}: min cosine {cos.min():.6f} against PyTorch < {min_cosine('fp16')}")
    return float(cos.min())


def write_load_models(dest: Path, recipe, batch: dict[str, np.ndarray], reference: np.ndarray) -> list[str]:
    """Write both models under dest; one line per model for the prepare report."""
    from ..export import SentenceEncoder
    from ..export.optimized import export_optimized

    model, _, pooling = recipe.load()
    stock = dest / STOCK
    histogram = _stock(recipe, SentenceEncoder(model.eval(), pooling).eval(), model.config, stock)
    lines = [f"{stock} ({stock.stat().st_size / 2**20:.0f} MiB, {histogram.get('Attention')} fused Attention, "
             f"min cosine {_check_on_cpu(stock, batch, reference, needs_library=False):.6f} on ORT CPU)"]
    result, _ = export_optimized(recipe, (dest / OURS_OPTIMIZED).parent)
    lines.append(f"{result.path} ({result.path.stat().st_size / 2**20:.0f} MiB, min cosine "
                 f"{_check_on_cpu(result.path, batch, reference, needs_library=True):.6f} on ORT CPU)")
    return lines
