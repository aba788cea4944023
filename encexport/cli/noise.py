"""Third-party chatter a command's user cannot act on, silenced by default (`--verbose` shows it all).

Each filter names one known message of one library, so anything new still shows. Our own progress lines
(encexport.progress) and errors are never filtered.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

# (category, message regex, module regex) as warnings.filterwarnings takes them.
WARNINGS = (
    # torch's pytree deprecation, raised from inside the dynamo exporter on every export.
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated", ""),
    # The dynamo exporter merging our batch/sequence axis names between inputs that share them.
    (UserWarning, r"# The axis name: .* will not be used", ""),
    # Hugging Face's mask building, traced by the legacy exporter (patched models never use that mask).
    (Warning, r"torch\.tensor results are registered as constants in the trace", r".*transformers[./]"),
)
# Loggers whose messages below ERROR are dropped: torch.onnx's notes on optional torchvision ops it skips.
LOGGERS = ("torch.onnx._internal.exporter._registration",)


@contextlib.contextmanager
def quiet(verbose: bool = False) -> Iterator[None]:
    if verbose:
        yield
        return
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        for category, message, module in WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category, module=module)
        for name in LOGGERS:
            logger = logging.getLogger(name)
            stack.callback(logger.setLevel, logger.level)
            logger.setLevel(logging.ERROR)
        stack.enter_context(_no_progress_bars())
        yield


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Hugging Face's weight-loading bar (our own progress line says what is loading)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
