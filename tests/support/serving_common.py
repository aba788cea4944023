"""Constants and helpers shared by the Triton tests (the fixtures live in conftest.py)."""

import numpy as np

BASE = "all_minilm_l6_v2"
TEXTS = ["Hi", "A man is eating food.",
         "Bidirectional attention sees the whole sentence at once, left and right context together, which is "
         "exactly what sentence embeddings need for retrieval and clustering.", "ONNX Runtime runs encoders."]


def cosine(a, b):
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def http_token_inputs(tritonclient_http, batch):
    """The tokenized batch as the Python-backend model's INT64 inputs for a tritonclient.http request."""
    inputs = []
    for name, value in batch.items():
        tensor = tritonclient_http.InferInput(name, list(value.shape), "INT64")
        tensor.set_data_from_numpy(value.astype(np.int64))
        inputs.append(tensor)
    return inputs
