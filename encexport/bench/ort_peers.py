"""ONNX Runtime sessions on the CUDA EP bound (io_binding) to the benchmark's torch tensors on torch's current
stream, so CUDA events bracket exactly the work ORT enqueues plus its per-call overhead: our node and ORT's own
attention ops (the runtime-level peers), and the sessions of the end-to-end benchmark."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from . import ort_models
from .inputs import Inputs

NP = {torch.float16: np.float16, torch.float32: np.float32, torch.int32: np.int32, torch.int64: np.int64,
      torch.bool: np.bool_}
DTYPE_NAME = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32"}


def session(model: bytes, with_library: bool, cuda_graph: bool = False):
    """An ORT CUDA session on torch's current stream (so CUDA events bracket exactly what ORT enqueues).

    cuda_graph: ORT captures the whole run in a CUDA graph on the first runs and replays it (`enable_cuda_graph`;
    every node must run on the CUDA EP and the bound addresses must stay fixed).
    """
    import onnxruntime as ort

    from ..ort import preload_cuda_libraries

    preload_cuda_libraries()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if with_library:
        from .. import ort as eort

        so.register_custom_ops_library(str(eort.library_path()))
    options = {"enable_cuda_graph": "1"} if cuda_graph else {
        "user_compute_stream": str(torch.cuda.current_stream().cuda_stream), "has_user_compute_stream": "1"}
    return ort.InferenceSession(model, sess_options=so, providers=[("CUDAExecutionProvider", options)])


class Bound:
    """A session bound to fixed torch tensors through io_binding.

    Calling it is the user's path: ORT runs the graph and waits for the GPU before returning. `enqueue()` runs
    without that final wait (run option disable_synchronize_execution_providers), which is how the benchmark
    reads the host cost of a call.
    """

    def __init__(self, sess, feeds: dict[str, torch.Tensor], outputs: dict[str, torch.Tensor] | torch.Tensor):
        import onnxruntime as ort

        if isinstance(outputs, torch.Tensor):
            outputs = {sess.get_outputs()[0].name: outputs}
        self.sess, self.feeds, self.outputs = sess, feeds, outputs
        self.binding = sess.io_binding()
        for name, t in feeds.items():
            self.binding.bind_input(name, "cuda", 0, _np_type(t), list(t.shape), t.data_ptr())
        for name, t in outputs.items():
            self.binding.bind_output(name, "cuda", 0, _np_type(t), list(t.shape), t.data_ptr())
        self._no_wait = ort.RunOptions()
        self._no_wait.add_run_config_entry("disable_synchronize_execution_providers", "1")
        self()

    @property
    def out(self) -> torch.Tensor:
        return next(iter(self.outputs.values()))

    def __call__(self) -> torch.Tensor:
        self.sess.run_with_iobinding(self.binding)
        return self.out

    def enqueue(self) -> torch.Tensor:
        self.sess.run_with_iobinding(self.binding, self._no_wait)
        return self.out


def _np_type(t: torch.Tensor):
    elem = NP.get(t.dtype)
    if elem is None:  # numpy has no bfloat16, which io_binding needs to name the element type
        raise TypeError("bfloat16 through ONNX Runtime io_binding is not driven by this benchmark")
    return elem


def ours_via_ort(inp: Inputs, layout: str, backend: str = "auto", used: list | None = None) -> Bound:
    """Our node in a session. Dense padded batches go without lengths (every position valid), as the peers go
    without a mask. `used` receives the family the library's dispatcher picks for the same problem (the ORT op
    runs the same dispatcher; it does not report its choice per call)."""
    s = inp.shape
    lengths = layout == "packed" or s.ragged
    model = ort_models.encexport_node(DTYPE_NAME[inp.q.dtype], s.heads, s.kv_heads, s.head_size, inp.scale, layout,
                                      backend, with_lengths=lengths)
    sess = session(model, with_library=True)
    if layout == "padded":
        feeds = {"query": inp.q, "key": inp.k, "value": inp.v}
        if lengths:
            feeds["lengths"] = inp.seq_lens
        out = torch.empty_like(inp.q)
    else:
        feeds = {"query": inp.q_packed, "key": inp.k_packed, "value": inp.v_packed, "lengths": inp.cu_seqlens}
        out = torch.empty_like(inp.q_packed)
    if used is not None:
        from .. import _testapi

        used.append(_testapi.attention(*feeds.values(), num_heads=s.heads, num_kv_heads=s.kv_heads,
                                       head_size=s.head_size, scale=inp.scale, layout=layout, backend=backend)[1])
    return Bound(sess, feeds, out)


def mha(inp: Inputs) -> Bound:
    """Dense: no mask (ORT's flash / memory-efficient kernels); ragged: 1-D key lengths."""
    s = inp.shape
    if s.kv_heads != s.heads:
        raise ValueError("MultiHeadAttention has no GQA")
    sess = session(ort_models.multihead_attention(DTYPE_NAME[inp.q.dtype], s.heads, s.head_size, inp.scale,
                                                  s.ragged), with_library=False)
    feeds = {"query": inp.q, "key": inp.k, "value": inp.v}
    if s.ragged:
        feeds["key_padding_mask"] = inp.seq_lens
    return Bound(sess, feeds, torch.empty_like(inp.q))


def packed_mha(inp: Inputs) -> Bound:
    s = inp.shape
    if s.kv_heads != s.heads:
        raise ValueError("PackedMultiHeadAttention has no GQA")
    sess = session(ort_models.packed_multihead_attention(DTYPE_NAME[inp.q.dtype], s.heads, s.head_size, inp.scale),
                    with_library=False)
    flat = inp.key_valid.flatten()
    # Positions of the valid tokens in the padded [B, S] grid first, then the padding positions.
    token_offset = torch.cat([flat.nonzero().flatten(), (~flat).nonzero().flatten()]).to(torch.int32)
    feeds = {"query": inp.q_packed, "key": inp.k_packed, "value": inp.v_packed,
             "token_offset": token_offset.view(s.batch, s.seq).contiguous(), "cumulative_sequence_length": inp.cu_seqlens}
    return Bound(sess, feeds, torch.empty_like(inp.q_packed))


def attention23(inp: Inputs) -> Bound:
    s = inp.shape
    sess = session(ort_models.attention23(DTYPE_NAME[inp.q.dtype], s.heads, s.kv_heads, s.head_size, inp.scale,
                                           s.ragged), with_library=False)
    feeds = {"Q": inp.q, "K": inp.k, "V": inp.v}
    if s.ragged:
        feeds["attn_mask"] = inp.key_valid[:, None, None, :].expand(-1, 1, s.seq, -1).contiguous()
    return Bound(sess, feeds, torch.empty_like(inp.q))


def ort_peers(inp: Inputs) -> dict[str, Callable[[], Bound]]:
    return {
        "ORT MultiHeadAttention": lambda: mha(inp),
        "ORT PackedMultiHeadAttention": lambda: packed_mha(inp),
        "ORT Attention-23": lambda: attention23(inp),
    }
