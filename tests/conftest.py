import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # shared helpers: reference.py, onnx_models.py, ...

# GPU fixtures (cuda, testapi, ort_cuda, record, ...) for the tests marked `gpu`, wherever they live.
pytest_plugins = ["gpu_fixtures"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skipif(not _cuda(), reason="needs a CUDA GPU"))


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


@pytest.fixture(scope="session")
def ort_library():
    from encexport import ort

    try:
        return ort.library_path()
    except FileNotFoundError as exc:
        pytest.fail(f"{exc}")


@pytest.fixture(scope="session")
def reliability_dir(tmp_path_factory) -> Path:
    """Where the fuzz tests' machine-readable outcome summaries go (under pytest's tmp dir)."""
    return tmp_path_factory.mktemp("reliability")
