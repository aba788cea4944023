"""Output folders: never overwritten silently, never left half-written.

A command writes into a temporary folder beside the destination (same file system) and moves the files into
place only once everything succeeded; on failure the temporary folder goes and the destination is as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _usage_error(message: str) -> Exception:
    from .main import UsageError

    return UsageError(message)


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def check_output_dir(path: str | Path, *, force: bool, produces: tuple[str, ...]) -> Path:
    """Refuse an --out that cannot receive `produces` (a file, existing outputs without force, not writable)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise _usage_error(f"{out} exists and is not a folder; choose another --out")
    existing = [name for name in produces if (out / name).exists()]
    if existing and not force:
        raise _usage_error(f"{out} already holds {', '.join(existing)}; pass --force to overwrite, or choose another "
                           "--out")
    base = _existing_ancestor(out)
    if not base.is_dir():
        raise _usage_error(f"cannot create {out}: {base} is not a folder; choose a writable --out")
    if not os.access(base, os.W_OK):
        what = f"{out} is not writable" if base == out.absolute() else f"cannot create {out} ({base} is read-only)"
        raise _usage_error(f"{what}; choose a writable --out")
    return out


@contextlib.contextmanager
def staged_output(path: str | Path, *, force: bool, produces: tuple[str, ...]) -> Iterator[Path]:
    """Yield a temporary folder to write into; on success its files replace those of the same name in `path`."""
    out = check_output_dir(path, force=force, produces=produces)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name or 'out'}.partial-", dir=_existing_ancestor(out)))
    except OSError as exc:
        raise _usage_error(f"cannot create {out}: {exc.strerror}; choose a writable --out") from exc
    try:
        yield stage
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage, out)
            os.chmod(out, 0o777 & ~_umask())  # mkdtemp makes it private; a plain folder is what was asked for
            return
        for item in stage.iterdir():
            target = out / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def prepare_output_dir(path: str | Path, *, force: bool, produces: tuple[str, ...]) -> Path:
    """Make `path` ready to receive `produces` in place (for outputs written piece by piece as they come)."""
    out = check_output_dir(path, force=force, produces=produces)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _usage_error(f"cannot create {out}: {exc.strerror}; choose a writable --out") from exc
    return out
