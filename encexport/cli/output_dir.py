"""Output folders: created when missing, never overwritten silently."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_output_dir(path: str | Path, *, force: bool, produces: tuple[str, ...]) -> Path:
    """Make `path` ready to receive `produces`; refuse to replace existing files unless force."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder; choose another --out")
    existing = [name for name in produces if (out / name).exists()]
    if existing and not force:
        raise FileExistsError(f"{out} already holds {', '.join(existing)}; pass --force to overwrite, or choose "
                              "another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(f"cannot create {out}: {exc.strerror}; choose a writable --out") from exc
    if not os.access(out, os.W_OK):
        raise PermissionError(f"{out} is not writable; choose a writable --out")
    return out
