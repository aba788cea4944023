"""ONNX Runtime peers on the CUDA EP, run through io_binding on the benchmark's torch tensors, on torch's
current stream (so CUDA events bracket exactly the work ORT enqueues, plus its per-call launch overhead)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from . import ort_models
from .inputs import Inputs

NP = {torch.float16: np.float16, torch.float32: np.float32, torch.int32: np.int32, torch.bool: np.bool_}
DTYPE_NAME = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32"}


def _session(model: bytes, with_library: bool):
    import onnxruntime as ort

    from ..ort import preload_cuda_libraries

    preload_cuda_libraries()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if with_library:
        from .. import ort as eort

        so.register_custom_ops_library(str(eort.library_path()))
    stream = torch.cuda.current_stream().cuda_stream
    providers = [("CUDAExecutionProvider", {"user_compute_stream": str(stream), "has_user_compute_stream": "1"})]
    return ort.InferenceSession(model, sess_options=so, providers=providers)


def _bound_runner(sess, feeds: dict[str, torch.Tensor], out: torch.Tensor) -> Callable[[], torch.Tensor]:
    binding = sess.io_binding()
    for name, t in feeds.items():
        elem = NP.get(t.dtype)
        if elem is None:  # numpy has no bfloat16, which io_binding needs to name the element type
            raise TypeError("bfloat16 through ONNX Runtime io_binding is not driven by this benchmark")
        binding.bind_input(name, "cuda", 0, elem, list(t.shape), t.data_ptr())
    out_name = sess.get_outputs()[0].name
    binding.bind_output(out_name, "cuda", 0, NP[out.dtype], list(out.shape), out.data_ptr())

    def run():
        sess.run_with_iobinding(binding)
        return out

    run()
    return run


def ours_via_ort(inp: Inputs, layout: str) -> Callable[[], torch.Tensor]:
    s = inp.shape
    model = ort_models.encexport_node(DTYPE_NAME[inp.q.dtype], s.heads, s.kv_heads, s.head_size, inp.scale, layout)
    sess = _session(model, with_library=True)
    if layout == "padded":
        feeds = {"query": inp.q, "key": inp.k, "value": inp.v, "lengths": inp.seq_lens}
        return _bound_runner(sess, feeds, torch.empty_like(inp.q))
    feeds = {"query": inp.q_packed, "key": inp.k_packed, "value": inp.v_packed, "lengths": inp.cu_seqlens}
    return _bound_runner(sess, feeds, torch.empty_like(inp.q_packed))


def mha(inp: Inputs) -> Callable[[], torch.Tensor]:
    s = inp.shape
    if s.kv_heads != s.heads:
        raise ValueError("MultiHeadAttention has no GQA")
    sess = _session(ort_models.multihead_attention(DTYPE_NAME[inp.q.dtype], s.heads, s.head_size, inp.scale,
                                                   s.ragged), with_library=False)
    feeds = {"query": inp.q, "key": inp.k, "value": inp.v}
    if s.ragged:
        feeds["key_padding_mask"] = inp.key_valid.to(torch.int32)
    return _bound_runner(sess, feeds, torch.empty_like(inp.q))


def packed_mha(inp: Inputs) -> Callable[[], torch.Tensor]:
    s = inp.shape
    if s.kv_heads != s.heads:
        raise ValueError("PackedMultiHeadAttention has no GQA")
    sess = _session(ort_models.packed_multihead_attention(DTYPE_NAME[inp.q.dtype], s.heads, s.head_size, inp.scale),
                    with_library=False)
    flat = inp.key_valid.flatten()
    # Positions of the valid tokens in the padded [B, S] grid first, then the padding positions.
    token_offset = torch.cat([flat.nonzero().flatten(), (~flat).nonzero().flatten()]).to(torch.int32)
    feeds = {"query": inp.q_packed, "key": inp.k_packed, "value": inp.v_packed,
             "token_offset": token_offset.view(s.batch, s.seq).contiguous(), "cumulative_sequence_length": inp.cu_seqlens}
    return _bound_runner(sess, feeds, torch.empty_like(inp.q_packed))


def attention23(inp: Inputs) -> Callable[[], torch.Tensor]:
    s = inp.shape
    sess = _session(ort_models.attention23(DTYPE_NAME[inp.q.dtype], s.heads, s.kv_heads, s.head_size, inp.scale,
                                           s.ragged), with_library=False)
    feeds = {"Q": inp.q, "K": inp.k, "V": inp.v}
    if s.ragged:
        feeds["attn_mask"] = inp.key_valid[:, None, None, :].expand(-1, 1, s.seq, -1).contiguous()
    return _bound_runner(sess, feeds, torch.empty_like(inp.q))


def ort_peers(inp: Inputs) -> dict[str, Callable[[], Callable[[], torch.Tensor]]]:
    return {
        "ORT MultiHeadAttention": lambda: mha(inp),
        "ORT PackedMultiHeadAttention": lambda: packed_mha(inp),
        "ORT Attention-23": lambda: attention23(inp),
    }
