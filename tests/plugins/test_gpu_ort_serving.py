"""Our op as a server runs it: one ONNX Runtime CUDA session shared by 8 threads (as Triton's ORT backend does
with several model instances), and the session inside an ORT CUDA graph (`enable_cuda_graph`).

- concurrency: 10,000 runs from 8 threads, every answer bitwise equal to the single-thread answer for the same
  input, and no growth of device memory or of the process's resident memory across the runs;
- capture safety: the op captured in ORT's CUDA graph gives the answer of the plain session, replay after replay,
  with the inputs' contents changed in place between replays (a graph that baked in a host read would not see it).
Each for the flash family (short sequences) and the cuDNN family (longer ones), padded with uneven lengths.
"""

from __future__ import annotations

import resource
import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from onnx_models import attention_model  # noqa: E402

pytestmark = pytest.mark.gpu

THREADS, RUNS = 8, 10_000
INPUT_SETS = 8
# (backend, heads, head size, S): S=128 runs flash under auto; S=384 runs cuDNN under auto (forced to be sure).
FAMILIES = [("flash", 12, 32, 128), ("cudnn", 12, 64, 384)]


def _inputs(seed: int, heads: int, d: int, s: int, batch: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((batch, s, heads * d)).astype(np.float16) for _ in range(3))
    lengths = rng.integers(1, s + 1, size=batch).astype(np.int32)
    lengths[0] = s
    return {"query": q, "key": k, "value": v, "lengths": lengths}


def _model(backend: str, heads: int, d: int) -> bytes:
    return attention_model(num_heads=heads, head_size=d, dtype="float16", backend=backend)


def _device_used_mib() -> float:
    torch.cuda.synchronize()
    free, total = torch.cuda.mem_get_info()
    return (total - free) / 2**20


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _needs_family(backend: str, request) -> None:
    if backend == "cudnn":
        request.getfixturevalue("cudnn_available")


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f[0])
def test_one_session_from_eight_threads(family, cuda_only_session, record, request):
    backend, heads, d, s = family
    _needs_family(backend, request)
    sess = cuda_only_session(_model(backend, heads, d))
    feeds = [_inputs(seed, heads, d, s) for seed in range(INPUT_SETS)]
    expected = [sess.run(None, f)[0] for f in feeds]  # single-thread answers
    failures: list[str] = []
    # The same 8 threads warm up, wait while memory is read, then make the measured runs: a server keeps its
    # threads, and each thread holds its own cuDNN handle and plans.
    barrier = threading.Barrier(THREADS + 1, timeout=600)

    def runs(tid: int, count: int) -> None:
        for i in range(count):
            which = (tid + i) % INPUT_SETS
            got = sess.run(None, feeds[which])[0]
            if not np.array_equal(got, expected[which]):
                diff = np.abs(got.astype(np.float32) - expected[which].astype(np.float32)).max()
                failures.append(f"thread {tid} run {i} input {which}: max diff {diff}")
                return

    def worker(tid: int) -> None:
        runs(tid, 100)
        barrier.wait()
        barrier.wait()
        runs(tid, RUNS // THREADS)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    barrier.wait()  # every thread warmed up: its cuDNN handle and plan, ORT's arena at its concurrent size
    device_before, rss_before = _device_used_mib(), _rss_mib()
    barrier.wait()
    for t in threads:
        t.join()
    device_growth, rss_growth = _device_used_mib() - device_before, _rss_mib() - rss_before
    record({"test": "ort_concurrency", "backend": backend, "threads": THREADS, "runs": RUNS,
            "device_growth_mib": device_growth, "rss_growth_mib": rss_growth, "mismatches": len(failures)})
    assert not failures, failures[:3]
    assert device_growth <= 2.0, f"device memory grew by {device_growth:.1f} MiB over {RUNS} runs"
    assert rss_growth <= 16.0, f"resident memory grew by {rss_growth:.1f} MiB over {RUNS} runs"


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f[0])
def test_op_inside_an_ort_cuda_graph(family, ort_cuda, record, request):
    ort, eort = ort_cuda
    backend, heads, d, s = family
    _needs_family(backend, request)
    model = _model(backend, heads, d)
    plain = eort.session(model, providers=["CUDAExecutionProvider"])
    so = eort.session_options()
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    graph = ort.InferenceSession(model, sess_options=so,
                                 providers=[("CUDAExecutionProvider", {"enable_cuda_graph": "1"})])
    first = _inputs(0, heads, d, s)
    bound = {name: ort.OrtValue.ortvalue_from_numpy(a, "cuda", 0) for name, a in first.items()}
    out = ort.OrtValue.ortvalue_from_shape_and_type(first["query"].shape, np.float16, "cuda", 0)
    binding = graph.io_binding()
    for name, value in bound.items():
        binding.bind_ortvalue_input(name, value)
    binding.bind_ortvalue_output("output", out)
    worst = 0.0
    for seed in range(6):  # the first runs capture, the later ones replay
        feeds = _inputs(seed, heads, d, s)
        feeds["lengths"] = first["lengths"]  # lengths may change, shapes may not; keep them to compare exactly
        if seed % 2:
            feeds["lengths"] = np.maximum(first["lengths"] // 2, 1).astype(np.int32)
        for name, value in bound.items():
            value.update_inplace(feeds[name])
        graph.run_with_iobinding(binding)
        got, want = out.numpy(), plain.run(None, feeds)[0]
        worst = max(worst, float(np.abs(got.astype(np.float32) - want.astype(np.float32)).max()))
    record({"test": "ort_cuda_graph", "backend": backend, "max_abs": worst})
    assert worst == 0.0, f"CUDA-graph replay differs from the plain session by {worst}"
