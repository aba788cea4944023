"""`EncoderOnlyAttention`: cache-free bidirectional attention over already-projected q, k, v.

The constructor mirrors vLLM's `EncoderOnlyAttention(num_heads, head_size, scale, cache_config, attn_type)`
so code written for it ports over. There is no KV cache; `causal` exists only as metadata and is always
False. In eager mode the layer runs `torch.ops.encexport.encoder_only_attention`; under torch.onnx.export it
becomes one `encexport::EncoderOnlyAttention` node (or another target, see `symbolic.export_target`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import backends, contract
from .ops import check_bias, check_inputs, check_lengths
from .symbolic import attention_for_export


class EncoderOnlyAttention(nn.Module):
    def __init__(self, num_heads: int, head_size: int, scale: float | None = None, cache_config=None,
                 attn_type: backends.AttentionType | str | None = None, *, num_kv_heads: int | None = None,
                 backend: str | None = None, layout: str = "padded", dtype: torch.dtype | None = None,
                 causal: bool = False, **kwargs):
        super().__init__()
        if attn_type is not None and backends.AttentionType(attn_type) != backends.AttentionType.ENCODER_ONLY:
            raise ValueError(f"EncoderOnlyAttention accepts attn_type=None or AttentionType.ENCODER_ONLY, got "
                             f"{attn_type!r}; use a decoder/cross attention layer for other kinds")
        if causal:
            raise ValueError("EncoderOnlyAttention is encoder-only (bidirectional): causal=True is not supported; "
                             "use a decoder attention layer for causal masking")
        unknown = set(kwargs) - {"prefix", "per_layer_sliding_window", "logits_soft_cap", "alibi_slopes",
                                 "use_mla", "kv_sharing_target_layer_name", "quant_config"}
        if unknown:
            raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
        for name in ("per_layer_sliding_window", "logits_soft_cap", "alibi_slopes"):
            if kwargs.get(name) is not None:
                raise ValueError(f"{name} is not supported by EncoderOnlyAttention (full bidirectional softmax "
                                 "attention only)")
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        # Validate before deriving the default scale: head_size=0 used to die in 1/sqrt(0) (ZeroDivisionError)
        # instead of naming the accepted range.
        contract.validate_attributes(num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size,
                                     backend="auto", layout=layout)
        scale = 1.0 / math.sqrt(head_size) if scale is None else float(scale)
        if not math.isfinite(scale):
            raise ValueError(f"scale must be finite, got {scale}")
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_size = head_size
        self.scale = scale
        self.layout = layout
        self.prefix = kwargs.get("prefix", "")
        # cache_config holds no cache here; like vLLM, only its dtype feeds backend selection.
        cache_dtype = getattr(cache_config, "cache_dtype", None)
        dtype = dtype or torch.get_default_dtype()
        underlying = backends.get_attn_backend(head_size, dtype, cache_dtype, getattr(cache_config, "block_size", None),
                                               selected=backend)
        contract.validate_attributes(num_heads=num_heads, num_kv_heads=num_kv_heads, head_size=head_size,
                                     backend=underlying.onnx_backend, layout=layout)
        self.attn_backend = backends.create_encoder_only_attention_backend(underlying)
        self.metadata_builder = self.attn_backend.get_builder_cls()()

    @property
    def backend_name(self) -> str:
        """e.g. EncoderOnlyAttention_AUTO: the wrapped backend this layer records on export."""
        return self.attn_backend.get_name()

    def extra_repr(self) -> str:
        return (f"num_heads={self.num_heads}, num_kv_heads={self.num_kv_heads}, head_size={self.head_size}, "
                f"scale={self.scale:.4g}, layout={self.layout}, backend={self.backend_name}")

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                seq_lens: torch.Tensor | None = None, cu_seqlens: torch.Tensor | None = None,
                attn_bias: torch.Tensor | None = None) -> torch.Tensor:
        """padded: q [B, S, H*D], k/v [B, S, Hkv*D], seq_lens [B] int32 (optional), attn_bias [B|1, H|1, S, S]
        (optional, added to the scaled scores; cast to the query's dtype).
        packed: q [T, H*D], k/v [T, Hkv*D], cu_seqlens [B+1] int32; no bias."""
        if self.layout == "padded" and cu_seqlens is not None:
            raise ValueError("cu_seqlens belongs to the packed layout; this layer is padded (pass seq_lens), or "
                             "construct it with layout='packed'")
        if self.layout == "packed" and seq_lens is not None:
            raise ValueError("seq_lens belongs to the padded layout; this layer is packed (pass cu_seqlens)")
        lengths = cu_seqlens if self.layout == "packed" else seq_lens
        check_bias(attn_bias, query, num_heads=self.num_heads, layout=self.layout)
        if attn_bias is not None and attn_bias.dtype != query.dtype:
            attn_bias = attn_bias.to(query.dtype)
        meta = self.metadata_builder.build(layout=self.layout, seq_lens=seq_lens, cu_seqlens=cu_seqlens)
        assert not meta.causal  # the encoder-only builder guarantees it
        if torch.onnx.is_in_onnx_export():
            # The eager op checks its inputs itself; under export it is not called, so check here.
            check_inputs(query, key, value, lengths, num_heads=self.num_heads, num_kv_heads=self.num_kv_heads,
                         head_size=self.head_size, layout=self.layout)
            check_lengths(lengths, self.layout, query.shape[0], None)  # dtype/rank only while tracing
            return attention_for_export(query, key, value, lengths, num_heads=self.num_heads,
                                        num_kv_heads=self.num_kv_heads, head_size=self.head_size, scale=self.scale,
                                        backend=self.attn_backend.onnx_backend, layout=self.layout,
                                        attn_bias=attn_bias)
        return torch.ops.encexport.encoder_only_attention(query, key, value, lengths, self.num_heads,
                                                          self.num_kv_heads, self.head_size, self.scale, self.layout,
                                                          attn_bias)
