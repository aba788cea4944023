"""The benchmark's ONNX peer models are valid ONNX, and its shapes follow the documented recipe."""

import numpy as np
import onnx
import pytest

from encexport.bench import ort_models
from encexport.bench.shapes import default_shapes, ragged_lengths


@pytest.mark.parametrize("model", [
    ort_models.encexport_node("float16", 12, 4, 64, 0.125, "padded"),
    ort_models.encexport_node("float16", 12, 12, 64, 0.125, "packed"),
    ort_models.multihead_attention("float16", 12, 64, 0.125, masked=True),
    ort_models.packed_multihead_attention("float16", 12, 64, 0.125),
    ort_models.attention23("float16", 12, 4, 64, 0.125, masked=True),
])
def test_peer_models_pass_the_checker(model):
    onnx.checker.check_model(onnx.load_from_string(model))


def test_ragged_lengths_recipe():
    lens = ragged_lengths(64, 16, 512)
    rng = np.random.default_rng(0)
    expect = np.clip(np.rint(np.exp(rng.normal(np.log(64), 0.9, size=64))), 16, 512).astype(int)
    assert list(lens) == list(expect) and min(lens) >= 16 and max(lens) <= 512


def test_flops_count_valid_tokens_only():
    s = next(x for x in default_shapes() if x.name == "MiniLM")
    assert s.flops() == 4 * 64 * 12 * 128 * 128 * 32
    r = next(x for x in default_shapes() if x.ragged)
    assert r.flops() == 4 * r.heads * r.head_size * sum(L * L for L in r.lengths)
