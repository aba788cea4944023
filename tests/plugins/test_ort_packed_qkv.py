"""The packed q|k|v form on the CPU EP: key and value empty, query rows [q | k | v] read in place.

Checked against the float64 reference on the separate q, k, v the rows were built from, for both layouts, MHA,
GQA and MQA, fp32 and fp16; malformed calls are refused with a message that names the fix."""

import numpy as np
import pytest
import torch

from encexport import ort
from onnx_models import attention_model
from reference import attention_reference, cu_seqlens, pack, random_qkv

TOLERANCE = {"float32": 1e-5, "float16": 2e-3}


def run(model: bytes, *arrays):
    sess = ort.session(model)
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})[0]


def packed_rows(q, k, v) -> np.ndarray:
    return torch.cat([q, k, v], dim=-1).numpy()


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("H,Hkv,D", [(4, 4, 16), (8, 2, 32), (4, 1, 64)])
@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_packed_qkv_matches_reference(layout, H, Hkv, D, dtype, ort_library):
    lens = [6, 0, 3, 1]
    q, k, v = random_qkv((len(lens), 6), H, Hkv, D, dtype=getattr(torch, dtype), seed=H + Hkv + D)
    if layout == "packed":
        q, k, v = (pack(t, lens) for t in (q, k, v))
        lengths = cu_seqlens(lens)
    else:
        lengths = torch.tensor(lens, dtype=torch.int32)
    model = attention_model(num_heads=H, num_kv_heads=Hkv, head_size=D, layout=layout, dtype=dtype, packed_qkv=True)
    out = run(model, packed_rows(q, k, v), lengths.numpy())
    ref = attention_reference(q, k, v, lengths, num_heads=H, num_kv_heads=Hkv, head_size=D, scale=D ** -0.5,
                              layout=layout)
    assert out.shape == tuple(ref.shape) and out.dtype == np.dtype(dtype)
    assert np.abs(out.astype(np.float64) - ref.numpy()).max() < TOLERANCE[dtype]


def test_packed_qkv_without_lengths_attends_every_token(ort_library):
    q, k, v = random_qkv((2, 5), 4, 2, 8, seed=3)
    out = run(attention_model(num_heads=4, num_kv_heads=2, head_size=8, with_lengths=False, packed_qkv=True),
              packed_rows(q, k, v))
    ref = attention_reference(q, k, v, None, num_heads=4, num_kv_heads=2, head_size=8, scale=8 ** -0.5)
    assert np.abs(out - ref.numpy()).max() < 1e-5


def test_packed_qkv_empty_batch(ort_library):
    rows = np.zeros((0, 3 * 16), np.float32)
    out = run(attention_model(layout="packed", head_size=8, packed_qkv=True), rows, np.array([0], np.int32))
    assert out.shape == (0, 16)


@pytest.mark.parametrize("width,match", [
    (3 * 16 - 1, r"query's last dimension is 47, .*packed q\|k\|v rows of .* = \(2 \+ 2\*2\)\*8 = 48 elements; fix"),
    (16, r"query's last dimension is 16, .*pass key and value as separate inputs"),
])
def test_packed_qkv_wrong_width_is_refused(width, match, ort_library):
    rows = np.zeros((2, 3, width), np.float32)
    with pytest.raises(Exception, match=match):
        run(attention_model(num_heads=2, head_size=8, packed_qkv=True), rows, np.array([3, 3], np.int32))


def test_packed_qkv_wrong_rank_is_refused(ort_library):
    import onnx

    model = onnx.load_from_string(attention_model(num_heads=2, head_size=8, packed_qkv=True))
    model.graph.input[0].type.tensor_type.ClearField("shape")  # any rank reaches the kernel
    with pytest.raises(Exception, match=r"query has shape \[6, 48\]; the padded layout expects rank 3"):
        run(model.SerializeToString(), np.zeros((6, 48), np.float32), np.array([3, 3], np.int32))


def test_only_one_of_key_and_value_is_refused(ort_library):
    import onnx

    model = onnx.load_from_string(attention_model(num_heads=2, head_size=8))
    model.graph.node[0].input[2] = ""  # value left empty, key still given
    model.graph.input.remove(next(i for i in model.graph.input if i.name == "value"))
    q, k, _ = random_qkv((2, 3), 2, 2, 8)
    with pytest.raises(Exception, match="only key is given; pass both key and value"):
        run(model.SerializeToString(), q.numpy(), k.numpy(), np.array([3, 3], np.int32))
