"""Synthetic source clips from ffmpeg's lavfi test sources (demo media, publishing tests)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from publishing.package import FFMPEG


def synthesise(out: Path, picture: str, tone: str | None, encode: Sequence[str]) -> None:
    """Write ``out`` from a lavfi ``picture`` source and, when given, a ``tone`` source.

    ``encode`` holds the output options (codecs, presets, duration); with a
    tone the clip ends with the shorter of the two inputs (``-shortest``).
    """
    inputs = ["-f", "lavfi", "-i", picture]
    if tone is not None:
        inputs += ["-f", "lavfi", "-i", tone]
    ending = ["-shortest"] if tone is not None else []
    subprocess.run([*FFMPEG, *inputs, *encode, *ending, str(out)], check=True)
