"""Progress lines for long steps (export, optimisation, engine build), on stderr so stdout stays the result."""

from __future__ import annotations

import sys


def progress(msg: str) -> None:
    print(f"[encexport] {msg}", file=sys.stderr, flush=True)
