"""What every recorded figure carries besides its data: the commit it measured, in its bottom corner."""

from __future__ import annotations

from ..provenance import describe


def save_stamped(fig, path, source: dict | None) -> None:
    """Stamp the figure and write the PNG, with the same words in its metadata (Description) and the measured
    commit's full hash (Source), so that a tool reading the file, not only a person looking at it, finds the
    commit measured."""
    stamp(fig, source)
    metadata = {"Description": _measured(source)}
    if source:
        metadata["Source"] = f"commit {source['commit']} ({source['tree']} tree)"
    fig.savefig(path, dpi=110, metadata=metadata)


def _measured(source: dict | None) -> str:
    return f"measured at {describe(source)}" if source else "measured at an unrecorded commit"


def stamp(fig, source: dict | None) -> None:
    """Write "measured at commit ... (clean tree)" under the axes and lay the figure out around it; a figure
    redrawn from a record without a source says so instead of implying the current commit."""
    fig.text(0.995, 0.005, _measured(source), ha="right", va="bottom", fontsize=7, color="dimgray")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
