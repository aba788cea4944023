"""The eager layer under abuse: every bad construction or call refused with a message naming it, and the
defined outputs (zeros for masked rows, finite for huge scales, NaN only where NaN is read) hold."""

import math

import pytest
import torch

from encexport import EncoderOnlyAttention
from reference import cu_seqlens, pack, random_qkv

I32 = torch.int32


@pytest.mark.parametrize("kwargs,match", [
    (dict(head_size=0), r"head_size 0 is outside \[1, 256\]"),  # used to be a ZeroDivisionError
    (dict(head_size=-8), "head_size -8 is outside"),
    (dict(head_size=257), "head_size 257 is outside"),
    (dict(num_heads=0), "must be positive"),
    (dict(num_heads=-2), "must be positive"),
    (dict(num_kv_heads=0), "must be positive"),
    (dict(num_kv_heads=8), "multiple of num_kv_heads"),
    (dict(scale=math.nan), "scale must be finite"),
    (dict(scale=math.inf), "scale must be finite"),
    (dict(scale=-math.inf), "scale must be finite"),
    (dict(causal=1), "encoder-only"),
    (dict(layout="PADDED"), "unknown layout"),
    (dict(attn_type="decoder"), "ENCODER_ONLY"),
    (dict(logits_soft_cap=30.0), "not supported"),
    (dict(no_such_option=1), "unexpected keyword"),
])
def test_bad_construction(kwargs, match):
    args = dict(num_heads=4, head_size=16)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        EncoderOnlyAttention(**args)


def _padded(B=2, S=4, H=4, Hkv=2, D=8, dtype=torch.float32, seed=0):
    return random_qkv((B, S), H, Hkv, D, dtype=dtype, seed=seed)


@pytest.mark.parametrize("name,call,match", [
    ("rank4", lambda L, q, k, v: L(q[None], k[None], v[None]), "expects"),
    ("rank2", lambda L, q, k, v: L(q[0], k[0], v[0]), "expects"),
    ("float64", lambda L, q, k, v: L(q.double(), k.double(), v.double()), "float64"),
    ("int", lambda L, q, k, v: L(q.int(), k.int(), v.int()), "int32; supported"),
    ("mixed_dtype", lambda L, q, k, v: L(q, k.half(), v), "share a dtype"),
    ("device", lambda L, q, k, v: L(q, k.to("meta"), v.to("meta")), "one device"),
    ("lengths_device", lambda L, q, k, v: L(q, k, v, seq_lens=torch.tensor([4, 1], dtype=I32, device="meta")),
     "move them to one device"),
    ("q_k_length", lambda L, q, k, v: L(q, k[:, :3], v[:, :3]), "every dimension but the last"),
    ("q_k_batch", lambda L, q, k, v: L(q, k[:1], v[:1]), "every dimension but the last"),
    ("kv_width", lambda L, q, k, v: L(q, q, q), "last dimension"),
    ("seq_lens_2d", lambda L, q, k, v: L(q, k, v, seq_lens=torch.tensor([[4, 1]], dtype=I32)), "1-D"),
    ("seq_lens_float", lambda L, q, k, v: L(q, k, v, seq_lens=torch.tensor([4.0, 1.0])), "int32"),
    ("seq_lens_int64", lambda L, q, k, v: L(q, k, v, seq_lens=torch.tensor([4, 1])), "int32"),
    ("seq_lens_count", lambda L, q, k, v: L(q, k, v, seq_lens=torch.tensor([4, 1, 2], dtype=I32)), "3 entries"),
    ("seq_lens_long", lambda L, q, k, v: L(q, k, v, seq_lens=torch.tensor([5, 1], dtype=I32)), r"lie in \[0, 4\]"),
    ("seq_lens_negative", lambda L, q, k, v: L(q, k, v, seq_lens=torch.tensor([-1, 1], dtype=I32)), "lie in"),
    ("cu_on_padded", lambda L, q, k, v: L(q, k, v, cu_seqlens=torch.tensor([0, 8], dtype=I32)), "packed layout"),
])
def test_bad_padded_call(name, call, match):
    layer = EncoderOnlyAttention(4, 8, num_kv_heads=2)
    q, k, v = _padded()
    with pytest.raises((ValueError, TypeError), match=match):
        call(layer, q, k, v)


@pytest.mark.parametrize("name,cu,match", [
    ("missing", None, "needs cu_seqlens"),
    ("int64", torch.tensor([0, 2, 5]), "int32"),
    ("2d", torch.tensor([[0, 2, 5]], dtype=I32), "1-D"),
    ("empty", torch.zeros(0, dtype=I32), "start with 0"),
    ("first", torch.tensor([1, 2, 5], dtype=I32), "start with 0"),
    ("decreasing", torch.tensor([0, 4, 2, 5], dtype=I32), "non-decreasing"),
    ("short_of_T", torch.tensor([0, 2, 4], dtype=I32), "number of packed tokens 5"),
    ("past_T", torch.tensor([0, 2, 9], dtype=I32), "number of packed tokens 5"),
])
def test_bad_packed_call(name, cu, match):
    layer = EncoderOnlyAttention(2, 8, layout="packed")
    q, k, v = random_qkv((5,), 2, 2, 8)
    with pytest.raises(ValueError, match=match):
        layer(q, k, v, cu_seqlens=cu)
    with pytest.raises(ValueError, match="packed"):  # seq_lens belongs to the other layout
        layer(q, k, v, seq_lens=torch.tensor([5], dtype=I32))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_all_masked_rows_are_zero_not_nan(dtype):
    q, k, v = _padded(dtype=dtype)
    out = EncoderOnlyAttention(4, 8, num_kv_heads=2, dtype=dtype)(q, k, v, seq_lens=torch.zeros(2, dtype=I32))
    assert torch.equal(out, torch.zeros_like(out))
    lens = [0, 0, 0]
    packed = EncoderOnlyAttention(4, 8, num_kv_heads=2, layout="packed", dtype=dtype)
    q0 = torch.zeros(0, 32, dtype=dtype)
    assert packed(q0, q0[:, :16], q0[:, :16], cu_seqlens=cu_seqlens(lens)).shape == (0, 32)


@pytest.mark.parametrize("B,S", [(2, 0), (0, 3), (0, 0), (3, 1)])
def test_length_zero_and_one(B, S):
    q, k, v = _padded(B=B, S=S)
    layer = EncoderOnlyAttention(4, 8, num_kv_heads=2)
    for lens in (None, torch.full((B,), S, dtype=I32), torch.zeros(B, dtype=I32)):
        out = layer(q, k, v, seq_lens=lens)
        assert out.shape == q.shape and not out.isnan().any(), (B, S, lens)
    if S == 1:  # one key: the output is that key's value, head by head (GQA: kv head h // 2)
        expect = v.unflatten(-1, (2, 8)).repeat_interleave(2, dim=2).flatten(2)
        torch.testing.assert_close(layer(q, k, v), expect)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_huge_scale_stays_finite(dtype):
    q, k, v = _padded(dtype=dtype, seed=3)
    out = EncoderOnlyAttention(4, 8, 1e4, num_kv_heads=2, dtype=dtype)(q, k, v, seq_lens=torch.tensor([4, 2], dtype=I32))
    assert torch.isfinite(out).all()
    assert out.float().abs().max() <= v.float().abs().max() * 1.01  # still a convex combination of the values


def test_nan_and_inf_reach_exactly_the_rows_that_read_them():
    H, Hkv, D = 4, 2, 8
    layer = EncoderOnlyAttention(H, D, num_kv_heads=Hkv)
    lens = torch.tensor([3, 4], dtype=I32)
    q, k, v = _padded(seed=4)
    q[0, 1, 0] = math.nan  # query row 1, head 0 of sequence 0
    out = layer(q, k, v, seq_lens=lens)
    assert out[0, 1, :D].isnan().all() and not out[0, 1, D:].isnan().any()
    assert not out[0, [0, 2]].isnan().any() and not out[1].isnan().any()
    q, k, v = _padded(seed=4)
    v[1, 2, 0] = math.inf  # value row 2 of sequence 1, kv head 0 -> query heads 0 and 1, element 0 of each
    out = layer(q, k, v, seq_lens=lens)
    hit = out[1].unflatten(-1, (H, D))
    assert (~torch.isfinite(hit[:, :2, 0])).all() and torch.isfinite(hit[:, 2:]).all() and torch.isfinite(hit[:, :2, 1:]).all()
    assert torch.isfinite(out[0]).all()


def test_garbage_in_padding_never_leaks():
    # The padding of every input is poisoned: the contract says it is never read. (The eager op used to leak a
    # NaN from padded keys/values into every valid row of the sequence.)
    H, Hkv, D = 4, 2, 8
    layer = EncoderOnlyAttention(H, D, num_kv_heads=Hkv)
    lens = torch.tensor([2, 4], dtype=I32)
    q, k, v = _padded(seed=5)
    clean = layer(q, k, v, seq_lens=lens)
    for poison in (math.nan, math.inf, -math.inf):
        pq, pk, pv = q.clone(), k.clone(), v.clone()
        for t in (pq, pk, pv):
            t[0, 2:] = poison
        out = layer(pq, pk, pv, seq_lens=lens)
        torch.testing.assert_close(out, clean, msg=f"padding poisoned with {poison}")


def test_packed_sequences_do_not_contaminate_each_other():
    lens = [3, 2, 4]
    q, k, v = (pack(t, lens) for t in _padded(B=3, S=4, seed=6))
    v[3, 0] = math.nan  # first token of sequence 1
    out = EncoderOnlyAttention(4, 8, num_kv_heads=2, layout="packed")(q, k, v, cu_seqlens=cu_seqlens(lens))
    assert out[3:5].isnan().any() and not out[:3].isnan().any() and not out[5:].isnan().any()
