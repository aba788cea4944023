"""What every recorded figure carries besides its data: the commit it measured, in its bottom corner."""

from __future__ import annotations

from ..provenance import describe


def stamp(fig, source: dict | None) -> None:
    """Write "measured at commit ... (clean tree)" under the axes and lay the figure out around it; a figure
    redrawn from a record without a source says so instead of implying the current commit."""
    text = f"measured at {describe(source)}" if source else "measured at an unrecorded commit"
    fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=7, color="dimgray")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
