import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tests/reference.py


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
