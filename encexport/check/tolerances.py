"""What "matches PyTorch" means, per dtype: the one table both checks read.

The dtype is the exported model's own (`model_dtype`: fp16 as soon as its float weights are float16, which
covers `--dtype fp16` and `--optimize`, whose inputs and outputs stay float32), so `encexport export` and a
later `encexport check` of the same file judge it alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float
    min_cosine: float

    def describe(self) -> str:
        return f"atol {self.atol:g}, rtol {self.rtol:g}, cos >= {self.min_cosine:g}"


# Per output (embeddings are L2-normalised, hidden states are O(1)); None: any other output.
TOLERANCES: dict[str, dict[str | None, Tolerance]] = {
    "fp32": {"sentence_embedding": Tolerance(1e-4, 1e-3, 0.9999),
             "last_hidden_state": Tolerance(1e-3, 1e-3, 0.9999),
             None: Tolerance(1e-3, 1e-3, 0.9999)},
    "fp16": {"sentence_embedding": Tolerance(2e-3, 1e-2, 0.999),
             "last_hidden_state": Tolerance(2e-2, 1e-2, 0.999),
             None: Tolerance(2e-2, 1e-2, 0.999)},
}


def tolerance(dtype: str, output: str | None = None) -> Tolerance:
    table = TOLERANCES[dtype]
    return table.get(output, table[None])


def min_cosine(dtype: str) -> float:
    """The sentence-level threshold: the pooled embedding's cosine with PyTorch's."""
    return tolerance(dtype, "sentence_embedding").min_cosine


def model_dtype(path: str | Path) -> str:
    """fp16 when the model's floating-point weights are float16, else fp32 (weights only, no data read)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    kinds = {i.data_type for i in graph.initializer}
    return "fp16" if onnx.TensorProto.FLOAT16 in kinds else "fp32"
