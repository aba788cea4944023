"""Constants and helpers shared by the Triton tests (the fixtures live in conftest.py)."""

import numpy as np

BASE = "all_minilm_l6_v2"
TEXTS = ["Hi", "A man is eating food.",
         "Bidirectional attention sees the whole sentence at once, left and right context together, which is "
         "exactly what sentence embeddings need for retrieval and clustering.", "ONNX Runtime runs encoders."]


def cosine(a, b):
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
