"""The optional additive attention bias (input 4, attn_bias) on the ORT CPU EP: every broadcast form against the
float64 reference with uneven lengths, and every malformed bias refused with a message that names the fix."""

import numpy as np
import onnxruntime
import pytest
import torch
from onnx import TensorProto

from encexport import ort
from onnx_models import attention_model
from reference import attention_reference, random_qkv

B, S = 3, 7
LENS = np.array([7, 4, 1], np.int32)
# The four broadcast forms of [B|1, H|1, S, S], by the batch and head dimensions of the bias.
FORMS = {"BHSS": (True, True), "1HSS": (False, True), "B1SS": (True, False), "11SS": (False, False)}


def bias_of(form, H, seed=0, dtype=torch.float32, batch=B, seq=S):
    per_batch, per_head = FORMS[form]
    g = torch.Generator().manual_seed(seed)
    return (2 * torch.randn(batch if per_batch else 1, H if per_head else 1, seq, seq, generator=g)).to(dtype)


def run(model: bytes, feeds: dict):
    sess = ort.session(model)
    return sess.run(None, feeds)[0]


def reference(q, k, v, lens, bias, H, Hkv, D):
    return attention_reference(*map(torch.from_numpy, (q, k, v)), None if lens is None else torch.from_numpy(lens),
                               num_heads=H, num_kv_heads=Hkv, head_size=D, scale=D ** -0.5,
                               bias=torch.from_numpy(bias))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("H,Hkv,D", [(4, 4, 16), (4, 2, 8), (6, 1, 32)])
def test_bias_matches_reference(form, H, Hkv, D, ort_library):
    q, k, v = (t.numpy() for t in random_qkv((B, S), H, Hkv, D, seed=D + H))
    bias = bias_of(form, H, seed=H).numpy()
    model = attention_model(num_heads=H, num_kv_heads=Hkv, head_size=D, bias_shape=bias.shape)
    out = run(model, {"query": q, "key": k, "value": v, "lengths": LENS, "attn_bias": bias})
    ref = reference(q, k, v, LENS, bias, H, Hkv, D)
    assert np.abs(out - ref.numpy()).max() < 1e-5
    assert not out[1, 4:].any() and not out[2, 1:].any()  # padding rows stay zeros
    # The bias changes the result (a bias the kernel ignored would pass the padding check above).
    plain = attention_reference(*map(torch.from_numpy, (q, k, v, LENS)), num_heads=H, num_kv_heads=Hkv,
                                head_size=D, scale=D ** -0.5)
    assert np.abs(out - plain.numpy()).max() > 1e-2


@pytest.mark.parametrize("dtype,tol", [("float16", 2e-3), ("bfloat16", 2e-2)])
@pytest.mark.parametrize("form", ["BHSS", "11SS"])
def test_bias_half_dtypes(dtype, tol, form, ort_library):
    H, D = 2, 16
    tdtype = getattr(torch, dtype)
    q, k, v = random_qkv((B, S), H, H, D, dtype=tdtype, seed=3)
    bias = bias_of(form, H, seed=5, dtype=tdtype)
    model = attention_model(num_heads=H, head_size=D, dtype=dtype, bias_shape=bias.shape)
    feeds = {"query": q, "key": k, "value": v, "attn_bias": bias}
    if dtype == "float16":
        out = run(model, {**{n: t.numpy() for n, t in feeds.items()}, "lengths": LENS})
    else:  # numpy has no bfloat16: ORT reads and writes the bits in buffers of int16
        sess = ort.session(model)
        binding = sess.io_binding()
        bits = lambda t: onnxruntime.OrtValue.ortvalue_from_numpy_with_onnx_type(  # noqa: E731
            t.view(torch.int16).numpy(), TensorProto.BFLOAT16)
        for n, t in feeds.items():
            binding.bind_ortvalue_input(n, bits(t))
        binding.bind_cpu_input("lengths", LENS)
        out_bits = torch.zeros(q.shape, dtype=torch.bfloat16)
        binding.bind_ortvalue_output("output", bits(out_bits))
        sess.run_with_iobinding(binding)
        out = out_bits.float().numpy()
    ref = attention_reference(q.float(), k.float(), v.float(), torch.from_numpy(LENS), num_heads=H, num_kv_heads=H,
                              head_size=D, scale=D ** -0.5, bias=bias.float())
    assert np.abs(out.astype(np.float32) - ref.numpy()).max() < tol


def test_bias_without_lengths_means_full_length(ort_library):
    H, D = 2, 8
    q, k, v = (t.numpy() for t in random_qkv((B, S), H, H, D, seed=9))
    bias = bias_of("1HSS", H, seed=9).numpy()
    model = attention_model(num_heads=H, head_size=D, with_lengths=False, bias_shape=bias.shape)
    out = run(model, {"query": q, "key": k, "value": v, "attn_bias": bias})
    ref = reference(q, k, v, None, bias, H, H, D)
    assert np.abs(out - ref.numpy()).max() < 1e-5


def test_bias_reads_only_the_valid_block(ort_library):
    # Non-finite values outside each sequence's [:L, :L] block must never reach the result.
    H, D = 2, 8
    q, k, v = (t.numpy() for t in random_qkv((B, S), H, H, D, seed=11))
    bias = bias_of("BHSS", H, seed=11).numpy()
    poisoned = bias.copy()
    for b, L in enumerate(LENS):
        poisoned[b, :, L:, :] = np.nan
        poisoned[b, :, :, L:] = np.inf
    model = attention_model(num_heads=H, head_size=D, bias_shape=bias.shape)
    out = run(model, {"query": q, "key": k, "value": v, "lengths": LENS, "attn_bias": poisoned})
    ref = reference(q, k, v, LENS, bias, H, H, D)
    assert np.isfinite(out).all()
    assert np.abs(out - ref.numpy()).max() < 1e-5


def test_bias_with_packed_qkv_rows(ort_library):
    H, D = 2, 8
    q, k, v = (t.numpy() for t in random_qkv((B, S), H, H, D, seed=13))
    bias = bias_of("B1SS", H, seed=13).numpy()
    model = attention_model(num_heads=H, head_size=D, packed_qkv=True, bias_shape=bias.shape)
    out = run(model, {"query": np.concatenate([q, k, v], -1), "lengths": LENS, "attn_bias": bias})
    ref = reference(q, k, v, LENS, bias, H, H, D)
    assert np.abs(out - ref.numpy()).max() < 1e-5


# ---- malformed biases: refused per call with a message naming the fix ----
@pytest.mark.parametrize("shape,match", [
    ((B, 2, S), r"expected rank 4 .*unsqueeze"),
    ((1, 1, 1, B, 2, S, S), "expected rank 4"),
    ((2, 2, S, S), r"dimension 0 must be the batch \(3\) or 1"),
    ((B, 3, S, S), r"dimension 1 must be num_heads \(2\) or 1"),
    ((B, 2, S, S + 1), r"last two dimensions must both be the padded sequence length S = 7"),
    ((1, 1, S - 1, S), r"last two dimensions must both be the padded sequence length S = 7"),
])
def test_bad_bias_shape_is_refused(shape, match, ort_library):
    q, k, v = (t.numpy() for t in random_qkv((B, S), 2, 2, 8))
    bias = np.zeros(shape, np.float32)
    model = attention_model(num_heads=2, head_size=8, bias_shape=[None] * len(shape))
    with pytest.raises(Exception, match=match):
        run(model, {"query": q, "key": k, "value": v, "lengths": LENS, "attn_bias": bias})


def test_bias_of_another_dtype_is_refused(ort_library):
    q, k, v = (t.numpy() for t in random_qkv((B, S), 2, 2, 8))
    bias = np.zeros((1, 1, S, S), np.float16)
    model = attention_model(num_heads=2, head_size=8, bias_shape=bias.shape, bias_dtype="float16")
    with pytest.raises(Exception, match=r"attn_bias has element type float16 but query is float32; cast the bias"):
        run(model, {"query": q, "key": k, "value": v, "lengths": LENS, "attn_bias": bias})


def test_bias_with_packed_layout_is_refused(ort_library):
    q, k, v = (t.numpy() for t in random_qkv((5,), 2, 2, 8))
    cu = np.array([0, 2, 5], np.int32)
    model = attention_model(num_heads=2, head_size=8, layout="packed", bias_shape=[1, 1, 5, 5])
    with pytest.raises(Exception, match=r"packed layout, which takes no bias.*layout 'padded'"):
        run(model, {"query": q, "key": k, "value": v, "lengths": cu, "attn_bias": np.zeros((1, 1, 5, 5), np.float32)})
