"""Both exporters (legacy TorchScript, dynamo) under abuse: bad inputs refused at export time with the layer's
message, and the exported node, run in ORT, keeps the defined outputs (masked rows zero, huge scale finite,
NaN only where read, padding never read) for edge-case inputs the export never saw."""

import math
import warnings

import numpy as np
import pytest
import torch

from encexport import EncoderOnlyAttention, export_target
from encexport import ort as eort
from reference import attention_reference, random_qkv

EXPORTERS = ["legacy", "dynamo"]
H, HKV, D = 4, 2, 8


class OneLayer(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, q, k, v, lengths):
        return self.layer(q, k, v, seq_lens=lengths)


def export(layer, args, path, exporter):
    names = ["query", "key", "value", "lengths"]
    with export_target("encexport"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "legacy":
            torch.onnx.export(OneLayer(layer), args, str(path), dynamo=False, input_names=names,
                              output_names=["output"], opset_version=17,
                              dynamic_axes={"query": {0: "B", 1: "S"}, "key": {0: "B", 1: "S"},
                                            "value": {0: "B", 1: "S"}, "lengths": {0: "B"}})
        else:
            B, S = torch.export.Dim("B", min=1, max=64), torch.export.Dim("S", min=1, max=512)
            shapes = {"q": {0: B, 1: S}, "k": {0: B, 1: S}, "v": {0: B, 1: S}, "lengths": {0: B}}
            torch.onnx.export(OneLayer(layer), args, dynamo=True, input_names=names, output_names=["output"],
                              dynamic_shapes=shapes, opset_version=18).save(str(path))
    return path


def sample(B=2, S=5, seed=0):
    q, k, v = random_qkv((B, S), H, HKV, D, seed=seed)
    return q, k, v, torch.tensor([S, 2][:B] + [1] * max(0, B - 2), dtype=torch.int32)


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name,mutate,match", [
    ("q_width", lambda q, k, v, L: (q[..., :8], k, v, L), "last dimension"),
    ("rank", lambda q, k, v, L: (q[0], k[0], v[0], L), "expects"),
    ("kv_length", lambda q, k, v, L: (q, k[:, :3], v[:, :3], L), "every dimension but the last"),
    ("lengths_int64", lambda q, k, v, L: (q, k, v, L.long()), "int32"),
    ("lengths_2d", lambda q, k, v, L: (q, k, v, L[None]), "1-D"),
    ("float64", lambda q, k, v, L: (q.double(), k.double(), v.double(), L), "float64"),
])
def test_export_refuses_bad_inputs(exporter, name, mutate, match, tmp_path):
    layer = EncoderOnlyAttention(H, D, num_kv_heads=HKV)
    with pytest.raises(Exception, match=match):
        export(layer, mutate(*sample()), tmp_path / "m.onnx", exporter)
    assert not (tmp_path / "m.onnx").exists() or exporter == "dynamo"  # legacy writes nothing on failure


@pytest.fixture(scope="module", params=EXPORTERS)
def sessions(request, tmp_path_factory, ort_library):
    """(exporter, session at the default scale, session at scale 1e4)."""
    d = tmp_path_factory.mktemp(f"export_{request.param}")
    plain = export(EncoderOnlyAttention(H, D, num_kv_heads=HKV), sample(), d / "plain.onnx", request.param)
    huge = export(EncoderOnlyAttention(H, D, 1e4, num_kv_heads=HKV), sample(), d / "huge.onnx", request.param)
    return request.param, eort.session(plain), eort.session(huge)


def run(sess, q, k, v, lens):
    return sess.run(None, {"query": q.numpy(), "key": k.numpy(), "value": v.numpy(), "lengths": lens.numpy()})[0]


def test_exported_node_masked_rows_and_lengths_0_1(sessions):
    exporter, sess, _ = sessions
    q, k, v, _ = sample(B=3, S=6, seed=1)
    for lens in ([0, 0, 0], [1, 0, 6], [6, 6, 6]):
        L = torch.tensor(lens, dtype=torch.int32)
        out = run(sess, q, k, v, L)
        ref = attention_reference(q, k, v, L, num_heads=H, num_kv_heads=HKV, head_size=D, scale=D ** -0.5)
        assert not np.isnan(out).any() and np.abs(out - ref.numpy()).max() < 1e-5, (exporter, lens)
    q1, k1, v1, _ = sample(B=2, S=1, seed=2)  # sequence length 1: a shape the export never saw
    out = run(sess, q1, k1, v1, torch.tensor([1, 0], dtype=torch.int32))
    assert out.shape == (2, 1, H * D) and not out[1].any()


def test_exported_node_refuses_bad_lengths_at_run_time(sessions):
    exporter, sess, _ = sessions
    q, k, v, _ = sample()
    for lens, match in (([6, 2], r"seq_lens\[0\] = 6 is outside"), ([-1, 2], "outside"), ([5, 2, 1], "seq_lens has shape")):
        with pytest.raises(Exception, match=match):
            run(sess, q, k, v, torch.tensor(lens, dtype=torch.int32))


def test_exported_node_huge_scale_finite(sessions):
    exporter, _, huge = sessions
    q, k, v, L = sample(seed=3)
    out = run(huge, q, k, v, L)
    assert np.isfinite(out).all() and np.abs(out).max() <= v.abs().max().item() * (1 + 1e-5), exporter


def test_exported_node_nan_propagation_and_clean_padding(sessions):
    exporter, sess, _ = sessions
    q, k, v, _ = sample(seed=4)
    L = torch.tensor([5, 2], dtype=torch.int32)
    clean = run(sess, q, k, v, L)
    pq = q.clone()
    pq[0, 3, 0] = math.nan  # query row 3, head 0 of sequence 0
    out = run(sess, pq, k, v, L)
    nan = np.isnan(out)
    assert nan[0, 3, :D].all() and nan.sum() == D, (exporter, np.argwhere(nan)[:5])
    pk, pv = k.clone(), v.clone()
    pk[1, 2:] = math.nan  # padding of sequence 1 (length 2): never read
    pv[1, 2:] = math.inf
    assert np.array_equal(run(sess, q, pk, pv, L), clean), exporter
