"""What a test does when a native library (or its CUDA part) was not built: skip, or fail under
ENCEXPORT_REQUIRE_CUDA=1.

On a machine without nvcc a missing CUDA library is expected, so the test skips with the reason. CI has nvcc
and sets ENCEXPORT_REQUIRE_CUDA=1 (.ci/run): there a missing library means the build broke, and a skip would
hide it, so the test fails with the reason and the fix instead."""

from __future__ import annotations

import os

import pytest

REQUIRE_CUDA = "ENCEXPORT_REQUIRE_CUDA"


def cuda_required() -> bool:
    return os.environ.get(REQUIRE_CUDA, "") == "1"


def library_missing(reason: str) -> None:
    """Skips with `reason`, or fails with it when ENCEXPORT_REQUIRE_CUDA=1 (never returns)."""
    if cuda_required():
        pytest.fail(f"{reason}; {REQUIRE_CUDA}=1 requires every library to be built: see the build output "
                    "(`encexport build-plugins`) for why it was not", pytrace=False)
    pytest.skip(reason)
