"""GPU test fixtures (loaded by tests/conftest.py for the tests marked `gpu`): a CUDA device (else skip), the kernel test API, and the per-case error log that
scripts/gpu_check.sh collects ($ENCEXPORT_GPU_RESULTS, default build/gpu_results.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_RECORDS: list[dict] = []


def pytest_sessionfinish(session, exitstatus):
    if not _RECORDS:
        return
    path = Path(os.environ.get("ENCEXPORT_GPU_RESULTS", Path(__file__).resolve().parents[2] / "build" / "gpu_results.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    from encexport.provenance import source_revision

    # The commit the records measured travels with them (a results file must name the code it checked).
    path.write_text(json.dumps({"source": source_revision(), "records": _RECORDS}, indent=1))


@pytest.fixture(scope="session")
def record():
    """record(dict): append one case's configuration and errors to the results file."""
    return _RECORDS.append


@pytest.fixture(scope="session")
def cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return torch.device("cuda")


@pytest.fixture(scope="session")
def testapi(cuda):
    from encexport import _testapi

    if not _testapi.available():
        pytest.skip(f"libencexport_testapi.so not built (scripts/build_plugins.sh with CUDA)")
    return _testapi


@pytest.fixture(scope="session")
def ort_cuda(cuda):
    """(onnxruntime, encexport.ort) with the CUDA EP available and the library built, else skip with the reason."""
    ort = pytest.importorskip("onnxruntime")
    from encexport import ort as eort

    eort.preload_cuda_libraries()  # CUDA/cuDNN from the nvidia-* wheels torch already brings
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip(f"onnxruntime {ort.__version__} has no CUDAExecutionProvider (install/stage onnxruntime-gpu)")
    try:
        eort.library_path()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    return ort, eort


@pytest.fixture(scope="session")
def cuda_only_session(ort_cuda):
    """session(model): CUDAExecutionProvider only with CPU fallback disabled, so the node provably runs on the GPU."""
    ort, eort = ort_cuda

    def make(model):
        so = eort.session_options()
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        return ort.InferenceSession(model, sess_options=so, providers=["CUDAExecutionProvider"])

    return make


@pytest.fixture(scope="session")
def cudnn_available(testapi):
    """Skip when the library has no usable cuDNN backend (built without its headers, or no libcudnn here);
    ENCEXPORT_REQUIRE_CUDNN=1 (scripts/gpu_check.sh) turns that skip into a failure."""
    import torch

    q = torch.zeros(1, 16, 64, device="cuda", dtype=torch.float16)
    try:
        testapi.attention(q, q, q, None, num_heads=1, num_kv_heads=1, head_size=64, scale=1.0, backend="cudnn")
    except RuntimeError as e:
        if os.environ.get("ENCEXPORT_REQUIRE_CUDNN") == "1":
            pytest.fail(f"cuDNN backend required but unavailable: {e}")
        pytest.skip(str(e))
