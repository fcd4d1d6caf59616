#!/usr/bin/env python3
"""Generate the demo media: ``make_demo_media.py`` (run by ``make demo-media``).

Synthesises short clips from ffmpeg's test sources (picture and tone), packages
each exactly as the publisher does, and writes them to app/media/demo/<id>/<version>/,
which the stack deploys to the media bucket and the dev server serves at /media/.
The versions go to catalog/demo_media.json, from which the demo seed marks those
videos playable. Prints the size of every package. The output is byte-identical from run to
run (one encoder thread, fixed seeds), so regenerating changes nothing unless the code did.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BACKEND))

from devtools import clips  # noqa: E402
from publishing.package import package, require_tools  # noqa: E402

DEMO_DIR = BACKEND.parent / "media" / "demo"
DEMO_MANIFEST = BACKEND / "catalog" / "demo_media.json"
WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 25, 12
# Video id → (ffmpeg lavfi picture source, tone in Hz). Ids 1-3 are the newest demo videos.
CLIPS: dict[int, tuple[str, int]] = {
    1: (f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}", 440),
    2: (f"mandelbrot=size={WIDTH}x{HEIGHT}:rate={FPS}", 330),
    3: (
        f"life=size={WIDTH}x{HEIGHT}:rate={FPS}:mold=10:ratio=0.1:seed=20250630:death_color=#1b2a49:life_color=#f5b700",
        550,
    ),
}


# Output options of the demo sources: one encoder thread, so the bytes repeat from run to run.
ENCODE = (
    *("-t", str(SECONDS), "-c:v", "libx264", "-threads", "1", "-preset", "veryfast"),
    *("-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"),
)


def synthesise(picture: str, tone: int, out: Path) -> None:
    clips.synthesise(out, picture, f"sine=frequency={tone}:sample_rate=48000", ENCODE)


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def main() -> int:
    require_tools()
    entries = []
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="demo-media-") as tmp:
        for video_id, (picture, tone) in CLIPS.items():
            source = Path(tmp) / f"source-{video_id}.mp4"
            synthesise(picture, tone, source)
            pkg = package(source, Path(tmp) / f"package-{video_id}", deterministic=True)
            target = DEMO_DIR / str(video_id) / pkg.version
            shutil.copytree(pkg.directory, target)
            entries.append(
                {"id": video_id, "version": pkg.version, "duration_seconds": round(pkg.duration)}
            )
            ladder = ", ".join(
                f"{r.width}x{r.height} {r.bandwidth // 1000}/{r.average_bandwidth // 1000} kbit/s "
                f"peak/avg, {len(r.segment_durations)} segments"
                for r in pkg.renditions
            )
            print(f"video {video_id}: {pkg.version} {size_of(target) / 1e6:.2f} MB [{ladder}]")
    DEMO_MANIFEST.write_text(json.dumps({"videos": entries}, indent=2) + "\n")
    print(f"total {size_of(DEMO_DIR) / 1e6:.2f} MB in {DEMO_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
