"""How the attention call becomes ONNX, for both torch.onnx exporters and every export target.

- legacy exporter (`dynamo=False`, TorchScript tracing): an `autograd.Function` whose `symbolic` writes the
  node; the tracer records the Function and calls `symbolic` at export time.
- dynamo exporter (the default): `symbolic` is ignored there, so the same node is written with
  `torch.onnx.ops.symbolic` while `torch.onnx.is_in_onnx_export()` is true.
Both paths go through `_emit`, so the node (op, attributes, inputs, output) is the same either way.

Export targets (`export_target(...)`): `encexport` (our node, the default), `onnx-attention` (ONNX
Attention, opset 23), `ms-mha` (com.microsoft MultiHeadAttention) and `decomposed` (MatMul/Softmax).
The last three need no custom library: they are the fallbacks and the baselines.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence

import torch

from . import contract
from .ops import key_valid_mask, reference_attention

TARGETS = ("encexport", "onnx-attention", "ms-mha", "decomposed")
_state = threading.local()


@contextlib.contextmanager
def export_target(target: str) -> Iterator[None]:
    """Select what EncoderOnlyAttention layers turn into while exporting inside this block."""
    if target not in TARGETS:
        raise ValueError(f"unknown export target {target!r}; choose one of {', '.join(TARGETS)}")
    previous = getattr(_state, "target", "encexport")
    _state.target = target
    try:
        yield
    finally:
        _state.target = previous


def current_target() -> str:
    return getattr(_state, "target", "encexport")


def is_legacy_export() -> bool:
    """True inside torch.onnx.export(..., dynamo=False): the TorchScript tracer is running."""
    return torch.jit.is_tracing()


# ---------------------------------------------------------------------------------------------------------
# One custom node, either exporter.
class _LegacyNode(torch.autograd.Function):
    """Carries (op, attributes, eager function) through the TorchScript tracer; `symbolic` writes the node."""

    @staticmethod
    def forward(ctx, spec: "_NodeSpec", *inputs):  # noqa: D401 - autograd signature
        return spec.eager(*inputs)

    @staticmethod
    def symbolic(g, spec: "_NodeSpec", *inputs):
        from torch.onnx import symbolic_helper

        values = []
        for x in inputs:
            if x is None or symbolic_helper._is_none(x):
                values.append(symbolic_helper._optional_input_placeholder_tensor(g))
            else:
                values.append(x)
        while values and values[-1].node().kind() == "prim::Constant" and values[-1].type().kind() == "OptionalType":
            values.pop()  # trailing absent optional inputs are simply left out
        kwargs = {}
        for name, value in spec.attrs:
            suffix = "s" if isinstance(value, str) else "f" if isinstance(value, float) else "i"
            kwargs[f"{name}_{suffix}"] = value
        out = g.op(spec.domain_op, *values, **kwargs)
        out.setType(inputs[0].type())
        return out


class _NodeSpec:
    """What one node needs in either exporter (hashable, held by the traced graph)."""

    def __init__(self, domain_op: str, attrs: dict[str, object], eager: Callable[..., torch.Tensor]):
        self.domain_op = domain_op
        self.attrs = tuple(attrs.items())
        self.eager = eager


def _emit(domain_op: str, inputs: Sequence[torch.Tensor | None], attrs: dict[str, object],
          eager: Callable[..., torch.Tensor]) -> torch.Tensor:
    """Write one `domain_op` node whose single output has input 0's dtype and shape."""
    like = inputs[0]
    if is_legacy_export():
        return _LegacyNode.apply(_NodeSpec(domain_op, attrs, eager), *inputs)
    while inputs and inputs[-1] is None:
        inputs = inputs[:-1]
    return torch.onnx.ops.symbolic(domain_op, list(inputs), attrs, dtype=like.dtype, shape=like.shape,
                                   version=contract.DOMAIN_VERSION if domain_op.startswith(contract.DOMAIN) else 1)


# ---------------------------------------------------------------------------------------------------------
# The targets.
def attention_for_export(q, k, v, lengths, *, num_heads: int, num_kv_heads: int, head_size: int, scale: float,
                         backend: str, layout: str, attn_bias: torch.Tensor | None = None) -> torch.Tensor:
    """Called by the layer while torch.onnx.export runs; returns the traced output.

    attn_bias (padded layout only) is the node's 5th input; without lengths the 4th input is left empty."""
    target = current_target()
    kw = dict(num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size, scale=scale)
    if target == "encexport":
        attrs = contract.node_attributes(backend=backend, layout=layout, **kw)

        def eager(q_, k_, v_, lengths_=None, bias_=None):
            return torch.ops.encexport.encoder_only_attention(q_, k_, v_, lengths_, num_heads, num_kv_heads,
                                                              head_size, scale, layout, bias_)

        return _emit(f"{contract.DOMAIN}::{contract.OP_TYPE}", [q, k, v, lengths, attn_bias], attrs, eager)
    kw["attn_bias"] = attn_bias
    if target == "decomposed":
        return decomposed_attention(q, k, v, lengths, layout=layout, **kw)
    if target == "onnx-attention":
        return onnx_attention23(q, k, v, lengths, layout=layout, **kw)
    return ms_multihead_attention(q, k, v, lengths, layout=layout, **kw)


def _packed_as_batch_of_one(q, k, v, cu_seqlens):
    """[T, W] tensors -> [1, T, W] plus a [T, T] mask that keeps attention inside each sequence."""
    T = q.shape[0]
    tokens = torch.arange(T, device=q.device, dtype=torch.int32)
    # Sequence index of every token: how many sequence ends lie at or before it (searchsorted has no ONNX op).
    segment = (tokens[:, None] >= cu_seqlens[None, 1:]).sum(-1)
    same_sequence = segment[:, None] == segment[None, :]
    return q[None], k[None], v[None], same_sequence


def _refuse_packed_bias(attn_bias, layout):
    if attn_bias is not None and layout == "packed":
        raise ValueError("attn_bias belongs to the padded layout; export padded")


def decomposed_attention(q, k, v, lengths, *, num_heads, num_kv_heads, head_size, scale, layout, attn_bias=None):
    """Plain MatMul/Softmax ops: the semantics of the node in standard ONNX (opset >= 13)."""
    _refuse_packed_bias(attn_bias, layout)
    if layout == "packed":
        q1, k1, v1, allowed = _packed_as_batch_of_one(q, k, v, lengths)
        return _masked_math(q1, k1, v1, allowed[None], num_heads, num_kv_heads, head_size, scale)[0]
    if lengths is None:
        return reference_attention(q, k, v, None, num_heads=num_heads, num_kv_heads=num_kv_heads,
                                   head_size=head_size, scale=scale, attn_bias=attn_bias)
    valid = key_valid_mask(lengths, q.shape[0], q.shape[1], q.device)
    allowed = valid[:, None, :] & valid[:, :, None]  # [B, S(query), S(key)]
    return _masked_math(q, k, v, allowed, num_heads, num_kv_heads, head_size, scale, attn_bias)


def _masked_math(q, k, v, allowed, num_heads, num_kv_heads, head_size, scale, attn_bias=None):
    """Softmax attention where allowed[b, i, j] says whether query i may see key j; rows with no key are 0."""
    group = num_heads // num_kv_heads
    qh = q.unflatten(-1, (num_heads, head_size)).transpose(1, 2)
    kh = k.unflatten(-1, (num_kv_heads, head_size)).transpose(1, 2).repeat_interleave(group, dim=1)
    vh = v.unflatten(-1, (num_kv_heads, head_size)).transpose(1, 2).repeat_interleave(group, dim=1)
    scores = torch.matmul(qh.float(), kh.float().transpose(-1, -2)) * scale
    if attn_bias is not None:
        scores = scores + attn_bias.float()
    scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    probs = torch.where(allowed[:, None], probs, torch.zeros((), dtype=probs.dtype, device=probs.device))
    out = torch.matmul(probs, vh.float())
    return out.transpose(1, 2).flatten(2).to(q.dtype)


def onnx_attention23(q, k, v, lengths, *, num_heads, num_kv_heads, head_size, scale, layout, attn_bias=None):
    """ONNX `Attention` (opset 23) through torch.onnx.ops.attention; needs the dynamo exporter."""
    _refuse_packed_bias(attn_bias, layout)
    if is_legacy_export():
        raise ValueError("target 'onnx-attention' (ONNX Attention, opset 23) needs the dynamo exporter; "
                         "export with exporter='dynamo' and opset >= 23")
    if layout == "packed":
        q1, k1, v1, allowed = _packed_as_batch_of_one(q, k, v, lengths)
        mask = allowed[None, None]
        out = _attention23(q1, k1, v1, mask, num_heads, num_kv_heads, head_size, scale)[0]
        return out
    valid = key_valid_mask(lengths, q.shape[0], q.shape[1], q.device)
    # ONNX Runtime wants the mask's query axis spelled out (no broadcasting over it): [B, 1, S, S].
    mask = valid[:, None, None, :].expand(-1, -1, q.shape[1], -1)
    if attn_bias is not None:  # an additive float mask: the bias, -inf at padded keys
        mask = attn_bias.to(q.dtype).masked_fill(~mask, float("-inf"))
    out = _attention23(q, k, v, mask, num_heads, num_kv_heads, head_size, scale)
    return torch.where(valid[:, :, None], out, torch.zeros((), dtype=out.dtype, device=out.device))


def _attention23(q, k, v, mask, num_heads, num_kv_heads, head_size, scale):
    # 3-D inputs [B, S, heads*D] with q_num_heads/kv_num_heads: the op splits the heads itself (GQA native).
    out, *_ = torch.onnx.ops.attention(q, k, v, mask, q_num_heads=num_heads, kv_num_heads=num_kv_heads,
                                       scale=scale, is_causal=False)
    return out


def ms_multihead_attention(q, k, v, lengths, *, num_heads, num_kv_heads, head_size, scale, layout, attn_bias=None):
    """com.microsoft MultiHeadAttention (ORT contrib op) with a [B, S] key-padding mask (and its attention_bias)."""
    if layout == "packed":
        raise ValueError("target 'ms-mha' supports the padded layout; for packed input ORT's "
                         "PackedMultiHeadAttention runs on CUDA only -- export padded, or use target 'encexport'")
    group = num_heads // num_kv_heads
    if group > 1:  # MultiHeadAttention has no GQA: give every query head its key/value head
        k = k.unflatten(-1, (num_kv_heads, head_size)).repeat_interleave(group, dim=-2).flatten(-2)
        v = v.unflatten(-1, (num_kv_heads, head_size)).repeat_interleave(group, dim=-2).flatten(-2)
    valid = key_valid_mask(lengths, q.shape[0], q.shape[1], q.device)
    key_padding_mask = valid.to(torch.int32)
    attrs = {"num_heads": int(num_heads), "scale": float(scale), "unidirectional": 0}

    def eager(q_, k_, v_, bias_, mask_, attn_bias_=None):
        return reference_attention(q_, k_, v_, mask_.sum(-1).to(torch.int32), num_heads=num_heads,
                                   num_kv_heads=num_heads, head_size=head_size, scale=scale, attn_bias=attn_bias_)

    out = _emit("com.microsoft::MultiHeadAttention", [q, k, v, None, key_padding_mask, attn_bias], attrs, eager)
    return torch.where(valid[:, :, None], out, torch.zeros((), dtype=out.dtype, device=out.device))
