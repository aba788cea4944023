import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the fuzz modules are imported by name


@pytest.fixture(scope="session")
def reliability_dir(tmp_path_factory) -> Path:
    """Where the machine-readable outcome summaries go (under pytest's tmp dir)."""
    return tmp_path_factory.mktemp("reliability")
