"""What the benchmark charts share: matplotlib without a display, and SVG files that are the same bytes for the same
figures (no date, a fixed salt for element ids), so a rerun with unchanged results changes nothing in git."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, salt: str) -> None:
    """Write `fig` to `path` (its suffix picks the format) and close it; an SVG is byte-stable."""
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"svg.hashsalt": salt}):
        fig.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)
