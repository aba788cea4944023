"""The ORT custom-op library on the CPU EP: correct numbers, and every malformed node or input refused with a
message that names the problem (never a crash)."""

import numpy as np
import pytest
import torch

from encexport import ort
from onnx_models import attention_model
from reference import attention_reference, cu_seqlens, pack, random_qkv


def run(model: bytes, *arrays):
    sess = ort.session(model)
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})[0]


def inputs(B=2, S=5, H=2, Hkv=2, D=8, dtype=torch.float32, seed=0):
    return [t.numpy() for t in random_qkv((B, S), H, Hkv, D, dtype=dtype, seed=seed)]


@pytest.mark.parametrize("D", [8, 32, 64, 80, 96, 128, 256])
@pytest.mark.parametrize("H,Hkv", [(4, 4), (4, 2), (8, 1)])
def test_cpu_op_matches_reference(D, H, Hkv, ort_library):
    lens = np.array([5, 3, 1], np.int32)
    q, k, v = inputs(3, 5, H, Hkv, D, seed=D + H)
    out = run(attention_model(num_heads=H, num_kv_heads=Hkv, head_size=D), q, k, v, lens)
    ref = attention_reference(*map(torch.from_numpy, (q, k, v, lens)), num_heads=H, num_kv_heads=Hkv, head_size=D,
                              scale=D ** -0.5)
    assert np.abs(out - ref.numpy()).max() < 1e-5


def test_cpu_op_packed_matches_reference(ort_library):
    lens = [4, 0, 7, 1]
    q, k, v = (pack(torch.from_numpy(t), lens).numpy() for t in inputs(4, 7, 4, 2, 16, seed=4))
    cu = cu_seqlens(lens).numpy()
    out = run(attention_model(num_heads=4, num_kv_heads=2, head_size=16, layout="packed"), q, k, v, cu)
    ref = attention_reference(*map(torch.from_numpy, (q, k, v, cu)), num_heads=4, num_kv_heads=2, head_size=16,
                              scale=0.25, layout="packed")
    assert np.abs(out - ref.numpy()).max() < 1e-5


def test_missing_seq_lens_means_full_length(ort_library):
    q, k, v = inputs()
    out = run(attention_model(with_lengths=False), q, k, v)
    ref = attention_reference(*map(torch.from_numpy, (q, k, v)), None, num_heads=2, num_kv_heads=2, head_size=8,
                              scale=8 ** -0.5)
    assert np.abs(out - ref.numpy()).max() < 1e-5


def test_empty_batch_and_zero_lengths(ort_library):
    q, k, v = inputs(B=2, S=3)
    out = run(attention_model(), q, k, v, np.array([0, 0], np.int32))
    assert not out.any()
    q0 = np.zeros((0, 16), np.float32)
    out = run(attention_model(layout="packed"), q0, q0, q0, np.array([0], np.int32))
    assert out.shape == (0, 16)


# ---- malformed nodes: refused when the session is created ----
@pytest.mark.parametrize("attrs,match", [
    (dict(causal=1), "encoder-only"),
    (dict(backend="turbo"), "unknown backend 'turbo'"),
    (dict(layout_override=None, layout="ragged"), "unknown layout 'ragged'"),
    (dict(plugin_version="2"), "plugin_version '2'"),
    (dict(num_heads=None), "num_heads"),
    (dict(head_size=None), "head_size"),
    (dict(num_kv_heads=3, num_heads=4), "must divide"),
    (dict(head_size=300), "outside"),
    (dict(num_heads=0), "outside"),
    (dict(num_heads="four"), "num_heads"),
    (dict(backend="flash"), "CUDAExecutionProvider"),
    (dict(backend="cudnn"), "CUDAExecutionProvider"),
])
def test_malformed_node_is_refused(attrs, match, ort_library):
    attrs.pop("layout_override", None)
    with pytest.raises(Exception, match=match):
        ort.session(attention_model(**attrs))


# ---- inputs that contradict the attributes: refused at run time ----
def test_inputs_contradicting_attributes_are_refused(ort_library):
    sess_model = attention_model(num_heads=2, head_size=8)
    q, k, v = inputs()
    lens = np.array([5, 2], np.int32)
    cases = [
        ((q[..., :8], k, v, lens), "query's last dimension is 8"),
        ((q, k[:, :3], v[:, :3], lens), "must agree on every dimension"),
        ((q, k, v, np.array([6, 2], np.int32)), r"seq_lens\[0\] = 6 is outside"),
        ((q, k, v, np.array([-1, 2], np.int32)), "outside"),
        ((q, k, v, np.array([5, 2, 1], np.int32)), "seq_lens has shape"),
    ]
    for arrays, match in cases:
        with pytest.raises(Exception, match=match):
            run(sess_model, *arrays)


@pytest.mark.parametrize("cu,match", [
    ([0, 6, 4, 10], "non-decreasing"),
    ([1, 5, 10], r"cu_seqlens\[0\] must be 0"),
    ([0, 5, 9], r"cu_seqlens\[-1\] = 9 must equal"),
    ([0, 5, 11], r"cu_seqlens\[-1\] = 11 must equal"),
])
def test_bad_cu_seqlens_is_refused(cu, match, ort_library):
    q = np.random.default_rng(0).standard_normal((10, 16)).astype(np.float32)
    with pytest.raises(Exception, match=match):
        run(attention_model(layout="packed"), q, q, q, np.array(cu, np.int32))


def test_packed_without_cu_seqlens_is_refused(ort_library):
    q = np.zeros((4, 16), np.float32)
    with pytest.raises(Exception, match="packed layout needs input 3"):
        run(attention_model(layout="packed", with_lengths=False), q, q, q)
