"""Progress lines for long steps (loading, export, optimisation, checks, engine build), on stderr so stdout stays
the result. The one place that prints progress: every step that can take more than two seconds goes through
`step`, which says what starts and, when it ends, how long it took.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator


def progress(msg: str) -> None:
    print(f"[encexport] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(msg: str) -> Iterator[None]:
    """`[encexport] msg ...` now, `[encexport] msg: done in N s` after (nothing more if the step fails: the
    error says why)."""
    progress(f"{msg} ...")
    start = time.perf_counter()
    yield
    progress(f"{msg}: done in {time.perf_counter() - start:.1f} s")
