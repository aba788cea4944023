"""Which code a recorded result measured: the git commit and whether the working tree was clean.

Read from git where the checkout has its history; a copy without it (a GPU machine that receives only the
working tree, e.g. a `git archive`) gets the same facts in ENCEXPORT_COMMIT and ENCEXPORT_TREE_CLEAN (1 or 0).
`python -m encexport.provenance` prints the two variables for this checkout, ready to prefix a remote command.

Every result file (GPU check summary, benchmark, profile, load test, plots) carries `source_revision()`, and
whatever copies results into the repository asks `refuse_dirty` first: a number recorded from a dirty tree
stands for code that no commit holds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
COMMIT_VARIABLE, CLEAN_VARIABLE = "ENCEXPORT_COMMIT", "ENCEXPORT_TREE_CLEAN"
_CLEAN_WORDS = {"1": "clean", "true": "clean", "yes": "clean", "clean": "clean",
                "0": "dirty", "false": "dirty", "no": "dirty", "dirty": "dirty"}


class DirtyResults(ValueError):
    """Results measured on a tree that was not clean (or not known to be) were about to be recorded."""


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _own_git(root: Path) -> bool:
    """Whether `root` is itself a git checkout: a copy unpacked inside some other repository must not report
    that repository's commit."""
    top = _git(root, "rev-parse", "--show-toplevel")
    return top is not None and Path(top).resolve() == root.resolve()


def source_revision(root: Path | None = None) -> dict:
    """{"commit": sha or "unknown", "tree": "clean" | "dirty" | "unknown"}.

    The environment wins over git (the variables describe the checkout a copy was made from). Tracked files
    decide cleanliness; untracked ones do not (build outputs, staged wheels)."""
    root = Path(root or _ROOT)
    has_git = _own_git(root)
    head = _git(root, "rev-parse", "HEAD") if has_git else None
    commit = os.environ.get(COMMIT_VARIABLE) or head
    clean = os.environ.get(CLEAN_VARIABLE)
    tree = _CLEAN_WORDS.get((clean or "").strip().lower(), "unknown")
    if clean is None and commit is not None and commit == head:
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        tree = "unknown" if status is None else ("clean" if status == "" else "dirty")
    return {"commit": commit or "unknown", "tree": tree}


def describe(rev: dict) -> str:
    return f"commit {rev['commit'][:12]} ({rev['tree']} tree)"


def refuse_dirty(rev: dict, *, allow_dirty: bool, what: str) -> None:
    """Raise DirtyResults unless `rev` is a clean commit or the caller was told --allow-dirty."""
    if allow_dirty or (rev.get("tree") == "clean" and rev.get("commit", "unknown") != "unknown"):
        return
    raise DirtyResults(
        f"{what} measured {describe(rev)}, not a clean commit: recorded, they would stand for code no commit "
        f"holds. Commit, rerun and record again, or pass --allow-dirty to record them anyway (the files still "
        f"name the tree as {rev.get('tree')})")


def shell_exports(rev: dict | None = None) -> str:
    """`export ENCEXPORT_COMMIT=... ENCEXPORT_TREE_CLEAN=...` for a command on a copy without .git."""
    rev = rev or source_revision()
    clean = {"clean": "1", "dirty": "0"}.get(rev["tree"], "")
    return f"export {COMMIT_VARIABLE}={rev['commit']} {CLEAN_VARIABLE}={clean}"


if __name__ == "__main__":
    print(shell_exports())
