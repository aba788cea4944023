"""What the `ort-sanitize` step runs under compute-sanitizer: our op inside real ONNX Runtime CUDA sessions.

    python -m encexport.gpu_check.ort_sanitize_driver      # one line per case, then "N/N cases ok"

A reduced grid of the ORT CUDA op tests (tests/plugins/test_gpu_ort_cuda.py, test_gpu_ort_packed_qkv.py): both
layouts, separate q, k, v and packed q|k|v rows, fp16 and fp32, MHA/GQA/MQA, ragged and empty sequences, padded
input without lengths, the flash and reference families and `auto`. No cuDNN case (cuDNN's own kernels are not
ours to sanitize; auto stays below the lengths where it picks cuDNN). Each case gets a fresh session whose CUDA
arena grows by exactly what is asked (kSameAsRequested), so an access past one of our buffers leaves the
allocation and memcheck sees it, instead of landing in arena slack. Answers are checked against a float64
NumPy reference too: a sanitizer run that computes garbage is no evidence. Only numpy and onnxruntime do work
here (no torch CUDA context), which keeps the run short under the sanitizer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

TOL = {"float16": 1e-2, "float32": 1e-4}


@dataclass(frozen=True)
class Case:
    dtype: str
    layout: str  # padded [B, S, W] or packed [T, W] with cu_seqlens
    form: str  # "separate" q, k, v or "packed_qkv" rows [q | k | v]
    heads: int
    kv_heads: int
    head_size: int
    lens: tuple[int, ...]
    backend: str
    with_lengths: bool = True

    def label(self) -> str:
        return (f"{self.dtype} {self.layout} {self.form} H{self.heads}/{self.kv_heads} D{self.head_size} "
                f"lens={list(self.lens)} {self.backend}{'' if self.with_lengths else ' no-lengths'}")


CASES = (
    Case("float16", "padded", "separate", 4, 2, 64, (128, 77, 1, 0), "auto"),
    Case("float16", "padded", "separate", 12, 12, 32, (100, 100), "flash"),
    Case("float16", "padded", "separate", 2, 2, 64, (20, 20), "auto", with_lengths=False),
    Case("float16", "packed", "separate", 8, 1, 128, (300, 1, 65, 64), "flash"),
    Case("float16", "packed", "separate", 2, 2, 80, (5, 129), "reference"),
    Case("float32", "padded", "separate", 4, 4, 64, (50, 17), "auto"),
    Case("float32", "packed", "separate", 6, 3, 96, (33, 200, 7), "reference"),
    Case("float16", "padded", "packed_qkv", 12, 12, 32, (128, 77, 1, 0), "auto"),
    Case("float16", "padded", "packed_qkv", 8, 2, 64, (100, 3), "flash"),
    Case("float16", "packed", "packed_qkv", 12, 12, 64, (300, 1, 65, 64), "flash"),
    Case("float16", "packed", "packed_qkv", 4, 2, 80, (5, 129), "reference"),
    Case("float16", "packed", "packed_qkv", 4, 4, 256, (70, 9), "flash"),
)


def model(case: Case) -> bytes:
    """One node; the packed q|k|v form leaves key and value empty and reads all three from `query`."""
    from onnx import TensorProto, helper

    from .. import contract

    elem = {"float16": TensorProto.FLOAT16, "float32": TensorProto.FLOAT}[case.dtype]
    dims = ["B", "S", None] if case.layout == "padded" else ["T", None]
    packed = case.form == "packed_qkv"
    inputs = [helper.make_tensor_value_info(n, elem, dims) for n in (("query",) if packed else ("query", "key", "value"))]
    names = ["query", "", ""] if packed else ["query", "key", "value"]
    if case.with_lengths:
        inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, [None]))
        names.append("lengths")
    while names[-1] == "":
        names.pop()
    attrs = contract.node_attributes(num_heads=case.heads, num_kv_heads=case.kv_heads, head_size=case.head_size,
                                     scale=case.head_size ** -0.5, backend=case.backend, layout=case.layout)
    node = helper.make_node(contract.OP_TYPE, names, ["output"], domain=contract.DOMAIN, **attrs)
    graph = helper.make_graph([node], "one_attention", inputs, [helper.make_tensor_value_info("output", elem, dims)])
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                         helper.make_opsetid(contract.DOMAIN, contract.DOMAIN_VERSION)])
    onnx_model.ir_version = 10
    return onnx_model.SerializeToString()


def reference(q: np.ndarray, k: np.ndarray, v: np.ndarray, case: Case) -> np.ndarray:
    """float64 attention of one sequence's rows [L, H*D] (keys and values [L, Hkv*D]); GQA maps head h to
    kv head h // (H / Hkv)."""
    d, group = case.head_size, case.heads // case.kv_heads
    out = np.zeros((q.shape[0], case.heads * d))
    for h in range(case.heads):
        g = h // group
        qh, kh, vh = q[:, h * d:(h + 1) * d], k[:, g * d:(g + 1) * d], v[:, g * d:(g + 1) * d]
        s = qh @ kh.T * d ** -0.5
        p = np.exp(s - s.max(-1, keepdims=True))
        out[:, h * d:(h + 1) * d] = (p / p.sum(-1, keepdims=True)) @ vh
    return out


def run_case(case: Case, index: int, providers) -> float:
    """Run the case in a fresh session; the max abs error against the reference (raises on a wrong answer)."""
    import onnxruntime as ort

    from .. import ort as eort

    rng = np.random.default_rng(index)
    widths = (case.heads * case.head_size, case.kv_heads * case.head_size, case.kv_heads * case.head_size)
    batch, seq = len(case.lens), max(case.lens)
    q, k, v = (rng.standard_normal((batch, seq, w)).astype(case.dtype) for w in widths)
    options = eort.session_options()
    if providers[0] != "CPUExecutionProvider":  # the node must provably run on the GPU
        options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    session = ort.InferenceSession(model(case), sess_options=options, providers=providers)

    def rows(x):  # the layout's view of a padded tensor
        if case.layout == "padded":
            return x
        return np.concatenate([x[b, :n] for b, n in enumerate(case.lens)]) if batch else x.reshape(0, x.shape[-1])

    feeds = ({"query": rows(np.concatenate([q, k, v], -1))} if case.form == "packed_qkv"
             else {"query": rows(q), "key": rows(k), "value": rows(v)})
    if case.with_lengths:
        feeds["lengths"] = (np.array(case.lens, np.int32) if case.layout == "padded"
                            else np.concatenate([[0], np.cumsum(case.lens)]).astype(np.int32))
    out = session.run(None, feeds)[0].astype(np.float64)
    lens = case.lens if case.with_lengths else (seq,) * batch
    worst, start = 0.0, 0
    for b, n in enumerate(lens):
        got = out[b, :n] if case.layout == "padded" else out[start:start + n]
        start += n
        if n:
            want = reference(*(x[b, :n].astype(np.float64) for x in (q, k, v)), case)
            worst = max(worst, float(np.abs(got - want).max()))
        if case.layout == "padded" and n < seq and np.any(out[b, n:] != 0):
            raise AssertionError(f"{case.label()}: padded rows of sequence {b} are not zeros")
    if not worst <= TOL[case.dtype]:
        raise AssertionError(f"{case.label()}: max abs error {worst:.3g} > {TOL[case.dtype]}")
    return worst


def main() -> int:
    import onnxruntime as ort

    from .. import ort as eort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        print(f"ort-sanitize driver: this onnxruntime ({ort.__version__}) has no CUDAExecutionProvider; stage "
              "onnxruntime-gpu (stage.sh ort) and put it on PYTHONPATH", flush=True)
        return 2
    eort.preload_cuda_libraries()
    providers = [("CUDAExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})]
    failed = 0
    for i, case in enumerate(CASES):
        try:
            err = run_case(case, i, providers)
            print(f"ort-sanitize driver: case {i} ok  max abs {err:.2e}  {case.label()}", flush=True)
        except Exception as exc:  # noqa: BLE001 - every case reports; the summary line counts them
            failed += 1
            print(f"ort-sanitize driver: case {i} FAILED  {case.label()}: {type(exc).__name__}: {exc}", flush=True)
    print(f"ort-sanitize driver: {len(CASES) - failed}/{len(CASES)} cases ok", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
