"""Which code a recorded result measured: the git commit and whether the working tree was clean.

Read from git where the checkout has its history; a copy without it (a GPU machine that receives only the
working tree) passes the same facts in ENCEXPORT_COMMIT and ENCEXPORT_TREE_CLEAN (1 or 0).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(_ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def source_revision() -> dict:
    """{"commit": sha or "unknown", "tree": "clean" | "dirty" | "unknown"}."""
    commit = os.environ.get("ENCEXPORT_COMMIT") or _git("rev-parse", "HEAD")
    clean = os.environ.get("ENCEXPORT_TREE_CLEAN")
    if clean is None and commit is not None:
        status = _git("status", "--porcelain", "--untracked-files=no")
        clean = None if status is None else ("1" if status == "" else "0")
    tree = {"1": "clean", "0": "dirty"}.get(clean or "", "unknown")
    return {"commit": commit or "unknown", "tree": tree}


def describe(rev: dict) -> str:
    return f"commit {rev['commit'][:12]} ({rev['tree']} tree)"
