"""The eager attention op: `torch.ops.encexport.encoder_only_attention`.

Registered with torch.library so torch.compile / torch.export see one opaque op (with a fake impl for
shapes). Its body is the PyTorch reference: SDPA with a key-padding mask for the padded layout, one SDPA
call per sequence for the packed layout, and the explicit softmax math in `reference_attention` (used by
tests as the independent reference and by the `decomposed` export target).

The optional additive bias `attn_bias` [B|1, H|1, S, S] (padded layout only) is added to the scaled scores
before the softmax: relative position biases (T5, MPNet, BEiT, DeBERTa's disentangled terms) and masks that
are not key padding. Padded keys stay masked whatever the bias holds.
"""

from __future__ import annotations

import functools
import math
import warnings

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from . import contract

_GPU_SDPA_ORDER = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
                   SDPBackend.MATH]


def check_lengths(lengths: torch.Tensor | None, layout: str, batch_or_tokens: int, seq_len: int | None,
                  *, values: bool = True) -> None:
    """Validate seq_lens / cu_seqlens on the host; raises ValueError naming the problem and the fix.
    values=False checks presence, dtype and rank only (fake tensors carry no data)."""
    if layout == "packed":
        if lengths is None:
            raise ValueError("the packed layout needs cu_seqlens: an int32 tensor [B+1] of prefix sums of the "
                             "sequence lengths (cu_seqlens[0] = 0, cu_seqlens[-1] = number of tokens)")
        name = "cu_seqlens"
    else:
        if lengths is None:
            return
        name = "seq_lens"
    if lengths.dtype != torch.int32:
        raise ValueError(f"{name} must be int32, got {lengths.dtype}; convert with .to(torch.int32)")
    if lengths.dim() != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(lengths.shape)}")
    if not values or torch.jit.is_tracing() or torch.compiler.is_compiling():
        return  # values are data: checked at run time by the runtime's kernel
    vals = lengths.detach().cpu()
    if layout == "packed":
        if vals.numel() < 1 or int(vals[0]) != 0:
            raise ValueError(f"cu_seqlens must start with 0, got {vals.tolist()[:4]}")
        if bool((vals[1:] < vals[:-1]).any()):
            raise ValueError(f"cu_seqlens must be non-decreasing (prefix sums of lengths), got {vals.tolist()}")
        if int(vals[-1]) != batch_or_tokens:
            raise ValueError(f"cu_seqlens[-1] = {int(vals[-1])} must equal the number of packed tokens "
                             f"{batch_or_tokens}")
    else:
        if vals.numel() != batch_or_tokens:
            raise ValueError(f"seq_lens has {vals.numel()} entries for a batch of {batch_or_tokens}")
        if bool(((vals < 0) | (vals > seq_len)).any()):
            raise ValueError(f"seq_lens must lie in [0, {seq_len}] (the padded length), got {vals.tolist()}")


BIAS_PACKED = ("attn_bias belongs to the padded layout ([B|1, H|1, S, S] over padded positions); the packed layout "
               "has no bias: export padded")


def check_bias(attn_bias: torch.Tensor | None, q: torch.Tensor, *, num_heads: int, layout: str) -> None:
    """attn_bias: [B|1, H|1, S, S], a float dtype, padded layout (shape checks only where sizes are known ints)."""
    if attn_bias is None:
        return
    if layout != "padded":
        raise ValueError(BIAS_PACKED)
    if not isinstance(attn_bias, torch.Tensor):
        raise TypeError(f"attn_bias must be a torch.Tensor, got {type(attn_bias).__name__}")
    if attn_bias.dim() != 4:
        raise ValueError(f"attn_bias has shape {tuple(attn_bias.shape)}; expected [B|1, H|1, S, S] (4-D)")
    if not attn_bias.is_floating_point():
        raise ValueError(f"attn_bias has dtype {attn_bias.dtype}; it is added to the scores: use a float dtype (a "
                         "boolean mask that is not key padding has no place in an encoder-only node)")
    if attn_bias.device != q.device:
        raise ValueError(f"attn_bias is on {attn_bias.device} but query is on {q.device}")
    expect = {0: (q.shape[0], "B"), 1: (num_heads, "H"), 2: (q.shape[1], "S"), 3: (q.shape[1], "S")}
    for dim, (size, name) in expect.items():
        got = attn_bias.shape[dim]
        if isinstance(got, int) and isinstance(size, int) and got != size and not (dim < 2 and got == 1):
            want = f"{name} = {size}" + (" or 1" if dim < 2 else "")
            raise ValueError(f"attn_bias has shape {tuple(attn_bias.shape)}: dimension {dim} must be {want}")


def _split_heads(x: torch.Tensor, heads: int, head_size: int) -> torch.Tensor:
    """[B, S, heads*D] -> [B, heads, S, D]."""
    return x.unflatten(-1, (heads, head_size)).transpose(1, 2)


def _per_sequence(padded_fn, q, k, v, cu_seqlens, **kw) -> torch.Tensor:
    """Packed [T, W] tensors: run `padded_fn` on each sequence as a batch of one (no padding anywhere)."""
    cu = cu_seqlens.tolist()
    out = torch.zeros_like(q)
    for s, e in zip(cu[:-1], cu[1:]):
        if e > s:
            out[s:e] = padded_fn(q[None, s:e], k[None, s:e], v[None, s:e], None, **kw)[0]
    return out


def key_valid_mask(lengths: torch.Tensor | None, batch: int, seq: int, device) -> torch.Tensor:
    """[B, S] bool: position j of sequence b is a real token (j < lengths[b]); all True without lengths."""
    if lengths is None:
        return torch.ones(batch, seq, dtype=torch.bool, device=device)
    return torch.arange(seq, device=device)[None, :] < lengths.to(torch.int64)[:, None]


def _packed_per_sequence(padded_fn):
    """padded_fn also takes layout="packed": then it runs on each sequence of the packed rows (_per_sequence)."""

    @functools.wraps(padded_fn)
    def attention(q, k, v, lengths, *, layout: str = "padded", attn_bias=None, **kw) -> torch.Tensor:
        if layout == "packed":
            if attn_bias is not None:
                raise ValueError(BIAS_PACKED)
            return _per_sequence(padded_fn, q, k, v, lengths, **kw)
        return padded_fn(q, k, v, lengths, attn_bias=attn_bias, **kw)

    return attention


@_packed_per_sequence
def reference_attention(q, k, v, lengths, *, num_heads: int, num_kv_heads: int, head_size: int,
                        scale: float, attn_bias=None) -> torch.Tensor:
    """Explicit math in fp32: the semantics of the node, written for reading, not speed."""
    B, S, _ = q.shape
    qh = _split_heads(q.float(), num_heads, head_size)
    group = num_heads // num_kv_heads
    kh = _split_heads(k.float(), num_kv_heads, head_size).repeat_interleave(group, dim=1)
    vh = _split_heads(v.float(), num_kv_heads, head_size).repeat_interleave(group, dim=1)
    key_valid = key_valid_mask(lengths, B, S, q.device)
    scores = torch.matmul(qh, kh.transpose(-1, -2)) * scale
    if attn_bias is not None:
        scores = scores + attn_bias.float()
    scores = scores.masked_fill(~key_valid[:, None, None, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    out = torch.matmul(probs, vh)  # [B, H, S, D]
    query_valid = key_valid[:, None, :, None]
    out = torch.where(query_valid, out, torch.zeros((), dtype=out.dtype, device=out.device))
    return out.transpose(1, 2).flatten(2).to(q.dtype)


@_packed_per_sequence
def sdpa_attention(q, k, v, lengths, *, num_heads: int, num_kv_heads: int, head_size: int,
                   scale: float, attn_bias=None) -> torch.Tensor:
    """The same semantics through torch SDPA (fused kernels where torch has them)."""
    B, S, _ = q.shape
    qh = _split_heads(q, num_heads, head_size)
    kh = _split_heads(k, num_kv_heads, head_size)
    vh = _split_heads(v, num_kv_heads, head_size)
    mask = None
    if lengths is not None:
        key_valid = key_valid_mask(lengths, B, S, q.device)
        mask = key_valid[:, None, None, :]
        # Padding is never read (contract): zero it first. Otherwise a NaN/Inf left in a padded key or value row
        # leaked into every valid row (masked score + NaN = NaN; probability 0 * NaN value = NaN).
        zero = torch.zeros((), dtype=k.dtype, device=k.device)
        kh = torch.where(key_valid[:, None, :, None], kh, zero)
        vh = torch.where(key_valid[:, None, :, None], vh, zero)
    if attn_bias is not None:
        # The bias is added to the scaled scores; padded keys stay at -inf whatever the bias holds there.
        bias = attn_bias.to(q.dtype)
        mask = bias if mask is None else bias.masked_fill(~mask, float("-inf"))
    # On CPU the math kernel: torch's fused CPU kernel turns a NaN query row into zeros instead of NaN.
    backends = [SDPBackend.MATH] if q.device.type == "cpu" else _GPU_SDPA_ORDER
    with sdpa_kernel(backends):
        out = torch.nn.functional.scaled_dot_product_attention(
            qh, kh, vh, attn_mask=mask, scale=scale, enable_gqa=num_kv_heads != num_heads)
    if lengths is not None:  # padded query rows (and fully masked rows, NaN from SDPA) are defined as zeros
        out = torch.where(key_valid[:, None, :, None], out, torch.zeros((), dtype=out.dtype, device=out.device))
    return out.transpose(1, 2).flatten(2)


def check_inputs(q, k, v, lengths, *, num_heads: int, num_kv_heads: int, head_size: int, layout: str) -> None:
    """Shape/dtype/device checks shared by the eager op and the exporters (no data reads).

    Under the TorchScript tracer (legacy exporter) shape entries are traced values: these checks read the
    example inputs' shapes on purpose and record nothing into the graph, so the tracer's warning about turning
    them into Python booleans does not apply here and is silenced for this check only."""
    if torch.jit.is_tracing():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            return _check_inputs(q, k, v, lengths, num_heads=num_heads, num_kv_heads=num_kv_heads,
                                 head_size=head_size, layout=layout)
    return _check_inputs(q, k, v, lengths, num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size,
                         layout=layout)


def _check_inputs(q, k, v, lengths, *, num_heads: int, num_kv_heads: int, head_size: int, layout: str) -> None:
    contract.validate_attributes(num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size,
                                 backend="auto", layout=layout)
    rank = 3 if layout == "padded" else 2
    expect = "[B, S, heads*head_size]" if rank == 3 else "[T, heads*head_size]"
    for name, t, heads in (("query", q, num_heads), ("key", k, num_kv_heads), ("value", v, num_kv_heads)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != rank:
            raise ValueError(f"{name} has shape {tuple(t.shape)}; the {layout} layout expects {expect}")
        if t.shape[-1] != heads * head_size:
            raise ValueError(f"{name}'s last dimension is {t.shape[-1]}, expected {heads}*{head_size} = "
                             f"{heads * head_size}")
        if t.dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise ValueError(f"{name} has dtype {t.dtype}; supported: float32, float16, bfloat16")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"query, key and value must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if not (q.device == k.device == v.device):
        raise ValueError(f"query, key and value must be on one device, got {q.device}, {k.device}, {v.device}")
    if k.shape[:-1] != q.shape[:-1] or v.shape[:-1] != q.shape[:-1]:
        raise ValueError(f"query {tuple(q.shape)}, key {tuple(k.shape)} and value {tuple(v.shape)} must agree on "
                         "every dimension but the last (self-attention over one set of tokens)")
    if lengths is not None and lengths.device != q.device:
        raise ValueError(f"lengths are on {lengths.device} but query is on {q.device}; move them to one device")


@torch.library.custom_op("encexport::encoder_only_attention", mutates_args=())
def encoder_only_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, lengths: torch.Tensor | None,
                           num_heads: int, num_kv_heads: int, head_size: int, scale: float,
                           layout: str, attn_bias: torch.Tensor | None = None) -> torch.Tensor:
    check_inputs(q, k, v, lengths, num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size, layout=layout)
    check_lengths(lengths, layout, q.shape[0], q.shape[1] if layout == "padded" else None)
    check_bias(attn_bias, q, num_heads=num_heads, layout=layout)
    if not math.isfinite(scale):
        raise ValueError(f"scale must be finite, got {scale}")
    return sdpa_attention(q, k, v, lengths, num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size,
                          scale=scale, layout=layout, attn_bias=attn_bias).contiguous()


@encoder_only_attention.register_fake
def _(q, k, v, lengths, num_heads, num_kv_heads, head_size, scale, layout, attn_bias=None):
    # Same shape/dtype checks as the real op: a strict torch.export (the dynamo exporter's retry) reaches the op
    # through this fake, and without them an int64 seq_lens was accepted here and surfaced only as an opaque
    # "No ONNX function found for encexport.encoder_only_attention" at ONNX translation.
    check_inputs(q, k, v, lengths, num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size, layout=layout)
    check_lengths(lengths, layout, q.shape[0], q.shape[1] if layout == "padded" else None, values=False)
    check_bias(attn_bias, q, num_heads=num_heads, layout=layout)
    return torch.empty_like(q)
