"""attn_bias on the Python side: the layer and eager op add it, both exporters write it as the node's 5th input
(same node either way, the lengths input left empty without lengths), and ORT CPU agrees with the reference."""

import warnings

import numpy as np
import onnx
import pytest
import torch

from encexport import EncoderOnlyAttention, contract
from encexport.ops import reference_attention


class Biased(torch.nn.Module):
    def __init__(self, layer, with_lengths):
        super().__init__()
        self.layer, self.with_lengths = layer, with_lengths

    def forward(self, q, k, v, lengths, bias):
        return self.layer(q, k, v, seq_lens=lengths if self.with_lengths else None, attn_bias=bias)


def case(bias_shape=(1, 4, 7, 7)):
    gen = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(3, 7, 4 * 8, generator=gen) for _ in range(3))
    return q, k, v, torch.tensor([7, 2, 5], dtype=torch.int32), 3 * torch.randn(bias_shape, generator=gen)


@pytest.mark.parametrize("shape", [(1, 4, 7, 7), (3, 1, 7, 7), (3, 4, 7, 7)])
def test_eager_layer_adds_the_bias(shape):
    q, k, v, lengths, bias = case(shape)
    out = EncoderOnlyAttention(4, 8)(q, k, v, seq_lens=lengths, attn_bias=bias)
    ref = reference_attention(q, k, v, lengths, num_heads=4, num_kv_heads=4, head_size=8, scale=8 ** -0.5,
                              attn_bias=bias)
    assert (out - ref).abs().max() < 1e-5
    plain = EncoderOnlyAttention(4, 8)(q, k, v, seq_lens=lengths)
    assert (out - plain).abs().max() > 0.1  # the bias is not ignored


def test_bias_is_refused_where_it_has_no_meaning():
    q, k, v, lengths, bias = case()
    with pytest.raises(ValueError, match="padded layout"):
        EncoderOnlyAttention(4, 8, layout="packed")(q[0], k[0], v[0], cu_seqlens=torch.tensor([0, 7], dtype=torch.int32),
                                                    attn_bias=bias)
    with pytest.raises(ValueError, match="dimension 1 must be H = 4 or 1"):
        EncoderOnlyAttention(4, 8)(q, k, v, attn_bias=torch.zeros(1, 3, 7, 7))
    with pytest.raises(ValueError, match="float dtype"):
        EncoderOnlyAttention(4, 8)(q, k, v, attn_bias=torch.zeros(1, 4, 7, 7, dtype=torch.bool))


@pytest.mark.parametrize("with_lengths", [True, False])
def test_both_exporters_write_the_bias_as_the_fifth_input(with_lengths, tmp_path, ort_library):
    from encexport import ort

    q, k, v, lengths, bias = case()
    module = Biased(EncoderOnlyAttention(4, 8), with_lengths)
    names = ["q", "k", "v", "lengths", "bias"]
    expected = reference_attention(q, k, v, lengths if with_lengths else None, num_heads=4, num_kv_heads=4,
                                   head_size=8, scale=8 ** -0.5, attn_bias=bias).numpy()
    nodes = {}
    for exporter in ("legacy", "dynamo"):
        path = tmp_path / f"{exporter}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if exporter == "legacy":
                torch.onnx.export(module, (q, k, v, lengths, bias), str(path), dynamo=False, input_names=names,
                                  opset_version=17)
            else:
                torch.onnx.export(module, (q, k, v, lengths, bias), dynamo=True, input_names=names,
                                  opset_version=18).save(str(path))
        node = next(n for n in onnx.load(str(path)).graph.node if n.domain == contract.DOMAIN)
        assert len(node.input) == 5 and node.input[4] == "bias"
        assert bool(node.input[3]) == with_lengths  # "" where the node has no lengths
        nodes[exporter] = (node.op_type, sorted((a.name, onnx.helper.get_attribute_value(a)) for a in node.attribute))
        sess = ort.session(path)
        feed = {i.name: dict(zip(names, (q, k, v, lengths, bias)))[i.name].numpy() for i in sess.get_inputs()}
        got = sess.run(None, feed)[0]
        valid = (np.arange(7)[None, :] < lengths.numpy()[:, None]) if with_lengths else np.ones((3, 7), bool)
        assert np.abs(got - expected)[valid].max() < 1e-4
    assert nodes["legacy"] == nodes["dynamo"]
