"""EncoderOnlyAttention in eager PyTorch vs the independent reference."""

import pytest
import torch

from encexport import capabilities
from encexport import AttentionType, EncoderOnlyAttention, create_encoder_only_attention_backend, get_attn_backend
from reference import attention_reference, cu_seqlens, pack, random_qkv
from required_libraries import library_missing

TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 2e-2}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (8, 2), (6, 1)])
def test_padded_uneven_lengths(dtype, heads, kv_heads):
    D, lens = 16, [9, 1, 5, 0]
    q, k, v = random_qkv((len(lens), 9), heads, kv_heads, D, dtype=dtype, seed=heads + kv_heads)
    seq_lens = torch.tensor(lens, dtype=torch.int32)
    layer = EncoderOnlyAttention(heads, D, D ** -0.5, num_kv_heads=kv_heads, dtype=dtype)
    out = layer(q, k, v, seq_lens=seq_lens)
    ref = attention_reference(q, k, v, seq_lens, num_heads=heads, num_kv_heads=kv_heads, head_size=D, scale=D ** -0.5)
    assert out.dtype == dtype and out.shape == q.shape
    err = (out.double() - ref).abs().max().item()
    assert err <= TOL[dtype], f"{dtype} H{heads}/{kv_heads}: max abs err {err}"
    for b, L in enumerate(lens):  # padded query rows are exact zeros, no NaN even for an empty sequence
        assert torch.equal(out[b, L:], torch.zeros_like(out[b, L:]))


def test_packed_equals_padded():
    H, Hkv, D, lens = 4, 2, 32, [3, 7, 1, 0, 5]
    q, k, v = random_qkv((len(lens), 7), H, Hkv, D, seed=3)
    seq_lens = torch.tensor(lens, dtype=torch.int32)
    padded = EncoderOnlyAttention(H, D, num_kv_heads=Hkv)(q, k, v, seq_lens=seq_lens)
    packed_layer = EncoderOnlyAttention(H, D, num_kv_heads=Hkv, layout="packed")
    packed = packed_layer(pack(q, lens), pack(k, lens), pack(v, lens), cu_seqlens=cu_seqlens(lens))
    torch.testing.assert_close(packed, pack(padded, lens), rtol=0, atol=1e-6)
    ref = attention_reference(pack(q, lens), pack(k, lens), pack(v, lens), cu_seqlens(lens), num_heads=H,
                              num_kv_heads=Hkv, head_size=D, scale=D ** -0.5, layout="packed")
    assert (packed.double() - ref).abs().max() < 1e-5


def test_no_lengths_means_full_sequences():
    q, k, v = random_qkv((2, 6), 2, 2, 8, seed=5)
    out = EncoderOnlyAttention(2, 8)(q, k, v)
    ref = attention_reference(q, k, v, None, num_heads=2, num_kv_heads=2, head_size=8, scale=8 ** -0.5)
    assert (out.double() - ref).abs().max() < 1e-5


def test_custom_scale_and_head_size_256():
    q, k, v = random_qkv((1, 5), 2, 1, 256, seed=6)
    out = EncoderOnlyAttention(2, 256, 0.3, num_kv_heads=1)(q, k, v)
    ref = attention_reference(q, k, v, None, num_heads=2, num_kv_heads=1, head_size=256, scale=0.3)
    assert (out.double() - ref).abs().max() < 1e-5


def test_nan_input_propagates_and_huge_scale_stays_finite():
    q, k, v = random_qkv((1, 4), 1, 1, 8, seed=7)
    out = EncoderOnlyAttention(1, 8, 1e4)(q, k, v)
    assert torch.isfinite(out).all()
    q[0, 1, 0] = float("nan")
    out = EncoderOnlyAttention(1, 8)(q, k, v)
    assert torch.isnan(out[0, 1]).all() and torch.isfinite(out[0, 0]).all()


def test_registered_custom_op_passes_opcheck():
    q, k, v = random_qkv((2, 5), 2, 1, 8, seed=8)
    lens = torch.tensor([5, 2], dtype=torch.int32)
    torch.library.opcheck(torch.ops.encexport.encoder_only_attention.default, (q, k, v, lens, 2, 1, 8, 0.35, "padded"),
                          test_utils=("test_schema", "test_faketensor"))


def test_backend_wrapper_is_encoder_only():
    underlying = get_attn_backend(64, torch.float16, selected="FLASH")
    wrapped = create_encoder_only_attention_backend(underlying)
    assert wrapped is create_encoder_only_attention_backend(underlying)  # cached
    assert wrapped.get_name() == "EncoderOnlyAttention_FLASH" and wrapped.onnx_backend == "flash"
    meta = wrapped.get_builder_cls()().build(layout="padded")
    assert meta.causal is False
    with pytest.raises(ValueError, match="encoder-only"):
        wrapped.get_builder_cls()().build(layout="padded", causal=True)
    assert EncoderOnlyAttention(2, 64, dtype=torch.float16, backend="flash").backend_name == "EncoderOnlyAttention_FLASH"


@pytest.mark.parametrize("kwargs,match", [
    (dict(causal=True), "encoder-only"),
    (dict(attn_type=AttentionType.DECODER), "ENCODER_ONLY"),
    (dict(attn_type="encoder_decoder"), "ENCODER_ONLY"),
    (dict(num_kv_heads=3), "multiple of num_kv_heads"),
    (dict(head_size=300), "head_size 300"),
    (dict(backend="nope"), "unknown attention backend"),
    (dict(backend="flash", dtype=torch.float32), "FLASH cannot run this layer.*dtype float32.*'auto'"),
    (dict(backend="cudnn", dtype=torch.float16, layout="packed"), "padded layout only"),
    (dict(backend="cudnn", dtype=torch.float16, head_size=20), "CUDNN cannot run this layer.*head_size 20"),
    (dict(layout="ragged"), "unknown layout"),
    (dict(per_layer_sliding_window=128), "not supported"),
])
def test_bad_construction_is_refused_clearly(kwargs, match):
    flash = capabilities.supports("flash", "float16", 64).support
    if "cannot run this layer" in match and flash not in (capabilities.Support.RUNS, capabilities.Support.OUTSIDE):
        library_missing("a library built without CUDA does not know the CUDA families' limits")
    args = dict(num_heads=4, head_size=kwargs.pop("head_size", 16))
    with pytest.raises((ValueError, TypeError), match=match):
        EncoderOnlyAttention(**args, **kwargs)


def test_attn_type_encoder_only_is_accepted():
    assert EncoderOnlyAttention(2, 8, attn_type=AttentionType.ENCODER_ONLY).num_kv_heads == 2


@pytest.mark.parametrize("cu,match", [
    ([0, 3, 2, 5], "non-decreasing"),
    ([1, 3, 5], "start with 0"),
    ([0, 2, 4], "must equal the number of packed tokens"),
])
def test_bad_cu_seqlens_is_refused(cu, match):
    q, k, v = random_qkv((5,), 2, 2, 8)
    layer = EncoderOnlyAttention(2, 8, layout="packed")
    with pytest.raises(ValueError, match=match):
        layer(q, k, v, cu_seqlens=torch.tensor(cu, dtype=torch.int32))


def test_bad_inputs_are_refused():
    layer = EncoderOnlyAttention(2, 8)
    q, k, v = random_qkv((2, 4), 2, 2, 8)
    with pytest.raises(ValueError, match="int32"):
        layer(q, k, v, seq_lens=torch.tensor([4, 2]))
    with pytest.raises(ValueError, match=r"lie in \[0, 4\]"):
        layer(q, k, v, seq_lens=torch.tensor([5, 2], dtype=torch.int32))
    with pytest.raises(ValueError, match="last dimension"):
        layer(q[..., :8], k, v)
    with pytest.raises(ValueError, match="share a dtype"):
        layer(q.half(), k, v)
    with pytest.raises(ValueError, match="expects"):
        layer(q[0], k[0], v[0])
    with pytest.raises(ValueError, match="every dimension but the last"):
        layer(q, k[:, :3], v[:, :3])
    with pytest.raises(ValueError, match="packed layout"):
        layer(q, k, v, cu_seqlens=torch.tensor([0, 4], dtype=torch.int32))


def test_torch_export_sees_one_opaque_op():
    """torch.export / torch.compile see the layer as the single registered custom op (no decomposition)."""
    q, k, v = random_qkv((2, 6), 4, 2, 8, seed=9)
    lens = torch.tensor([6, 3], dtype=torch.int32)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = EncoderOnlyAttention(4, 8, num_kv_heads=2)

        def forward(self, q, k, v, lens):
            return self.attn(q, k, v, seq_lens=lens)

    program = torch.export.export(Model(), (q, k, v, lens))
    targets = [n.target for n in program.graph.nodes if n.op == "call_function"]
    assert targets == [torch.ops.encexport.encoder_only_attention.default], targets
    compiled = torch.compile(Model(), backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(q, k, v, lens), Model()(q, k, v, lens))
