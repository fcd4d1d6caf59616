"""Turn a source video into an adaptive HLS package with ffmpeg.

The package is what lands under ``/media/<id>/<version>/``:

* one H.264 (High profile) / AAC rendition per ladder rung that fits the source,
  each ``<height>p/index.m3u8`` with MPEG-TS segments cut on forced keyframes
  every ``SEGMENT_SECONDS`` (all segments that long, the last one shorter);
* ``master.m3u8`` listing the renditions with BANDWIDTH (peak segment bit rate,
  as the HLS spec defines it), AVERAGE-BANDWIDTH, RESOLUTION and CODECS;
* ``poster.jpg``.

The version is a hash of the package's content, so a path never changes meaning.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from catalog.playback import MASTER_PLAYLIST, POSTER

SEGMENT_SECONDS = 4
AUDIO_BITRATE_KBPS = 96
# (height, video kbit/s): the rungs used when the source is at least that tall.
LADDER: tuple[tuple[int, int], ...] = (
    (1080, 5000),
    (720, 2800),
    (480, 1400),
    (360, 800),
    (240, 400),
)
MIN_RENDITIONS = 2
VARIANT_PLAYLIST = "index.m3u8"
# Content-Type and Cache-Control per extension: one table for the publisher and the stack.
FORMATS_FILE = Path(__file__).resolve().parents[2] / "media" / "formats.json"
_PROFILE_IDC = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}


class PackagingError(RuntimeError):
    """The source cannot be packaged; the message says why."""


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    duration: float
    frame_rate: float


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    segment_durations: tuple[float, ...]


@dataclass(frozen=True)
class Package:
    directory: Path
    version: str
    renditions: tuple[Rendition, ...]
    duration: float

    def files(self) -> list[Path]:
        """Every file, segments first and the master playlist last (the upload order)."""
        found = sorted(p for p in self.directory.rglob("*") if p.is_file())
        return sorted(found, key=lambda p: (p.name == MASTER_PLAYLIST, p.suffix == ".m3u8", str(p)))


def media_formats() -> dict[str, dict[str, str]]:
    formats: dict[str, dict[str, str]] = json.loads(FORMATS_FILE.read_text())["files"]
    return formats


def require_tools() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        raise PackagingError(
            f"{' and '.join(missing)} not found: install the Debian package 'ffmpeg'"
        )


def _run(cmd: list[str], what: str) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise PackagingError(f"{what} failed: {' / '.join(detail) or f'exit {result.returncode}'}")
    return result.stdout


def probe(source: Path) -> SourceInfo:
    """Check the source is a video with sound; return what the ladder needs."""
    if not source.is_file():
        raise PackagingError(f"{source}: no such file")
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PackagingError(f"{source}: not a video file ffmpeg can read")
    info = json.loads(result.stdout or "{}")
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    if video is None:
        raise PackagingError(f"{source}: has no video stream")
    if not any(s.get("codec_type") == "audio" for s in streams):
        raise PackagingError(
            f"{source}: has no audio stream (the ladder is H.264 video with AAC sound)"
        )
    try:
        duration = float(info.get("format", {}).get("duration") or video.get("duration"))
        num, den = (int(x) for x in str(video.get("avg_frame_rate", "0/1")).split("/"))
        frame_rate = num / den if den else 0.0
        width, height = int(video["width"]), int(video["height"])
    except (TypeError, ValueError, KeyError):
        raise PackagingError(
            f"{source}: ffprobe reports no usable duration, size or frame rate"
        ) from None
    if duration < 1 or frame_rate <= 0:
        raise PackagingError(f"{source}: is not a moving picture of at least one second")
    return SourceInfo(width=width, height=height, duration=duration, frame_rate=frame_rate)


def ladder_for(info: SourceInfo) -> list[tuple[int, int]]:
    rungs = [(h, kbps) for h, kbps in LADDER if h <= info.height]
    if len(rungs) < MIN_RENDITIONS:
        smallest = LADDER[-MIN_RENDITIONS][0]
        raise PackagingError(
            f"source is {info.height} px tall; an adaptive ladder needs at least {smallest} px "
            f"({MIN_RENDITIONS} renditions)"
        )
    return rungs


def _segment_durations(playlist: Path) -> list[tuple[float, str]]:
    text = playlist.read_text()
    return [(float(m[1]), m[2]) for m in re.finditer(r"#EXTINF:([0-9.]+),\s*\n(\S+)", text)]


def _codecs(variant_dir: Path, first_segment: str) -> tuple[str, int, int]:
    out = _run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-print_format",
            "json",
            "-show_entries",
            "stream=profile,level,width,height",
            str(variant_dir / first_segment),
        ],
        "ffprobe of a segment",
    )
    stream = json.loads(out)["streams"][0]
    profile = _PROFILE_IDC.get(str(stream.get("profile")))
    if profile is None:
        raise PackagingError(f"unexpected H.264 profile {stream.get('profile')!r}")
    return (
        f"avc1.{profile:02x}00{int(stream['level']):02x},mp4a.40.2",
        int(stream["width"]),
        int(stream["height"]),
    )


# ffmpeg without prompts, banner or progress, overwriting its outputs: what every call here runs.
FFMPEG = ("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y")


def _encode(
    source: Path, out: Path, height: int, kbps: int, info: SourceInfo, threads: list[str]
) -> Rendition:
    out.mkdir(parents=True)
    _run(
        [
            *FFMPEG,
            "-i",
            str(source),
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
            "-vf",
            f"scale=-2:{height}:flags=lanczos",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            *threads,
            "-profile:v",
            "high",
            "-preset",
            "veryfast",
            "-b:v",
            f"{kbps}k",
            "-maxrate",
            f"{kbps * 107 // 100}k",
            "-bufsize",
            f"{kbps * 3 // 2}k",
            # A keyframe every SEGMENT_SECONDS and nowhere else: equal, independent segments.
            "-force_key_frames",
            f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
            "-sc_threshold",
            "0",
            "-g",
            str(math.ceil(info.frame_rate * SEGMENT_SECONDS)),
            "-c:a",
            "aac",
            "-b:a",
            f"{AUDIO_BITRATE_KBPS}k",
            "-ac",
            "2",
            "-ar",
            "48000",
            "-f",
            "hls",
            "-hls_time",
            str(SEGMENT_SECONDS),
            "-hls_playlist_type",
            "vod",
            "-hls_flags",
            "independent_segments",
            "-hls_segment_type",
            "mpegts",
            "-hls_segment_filename",
            str(out / "seg_%05d.ts"),
            str(out / VARIANT_PLAYLIST),
        ],
        f"encoding the {height}p rendition",
    )
    segments = _segment_durations(out / VARIANT_PLAYLIST)
    if not segments:
        raise PackagingError(f"the {height}p rendition has no segments")
    rates = [(out / name).stat().st_size * 8 / max(seconds, 0.001) for seconds, name in segments]
    total_bits = sum((out / name).stat().st_size * 8 for _, name in segments)
    total_seconds = sum(seconds for seconds, _ in segments)
    codecs, width, real_height = _codecs(out, segments[0][1])
    return Rendition(
        name=out.name,
        width=width,
        height=real_height,
        bandwidth=math.ceil(max(rates)),
        average_bandwidth=math.ceil(total_bits / total_seconds),
        codecs=codecs,
        segment_durations=tuple(seconds for seconds, _ in segments),
    )


def master_playlist(renditions: list[Rendition], frame_rate: float) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in sorted(renditions, key=lambda r: r.bandwidth, reverse=True):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},AVERAGE-BANDWIDTH={r.average_bandwidth},"
            f'RESOLUTION={r.width}x{r.height},CODECS="{r.codecs}",FRAME-RATE={frame_rate:.3f}'
        )
        lines.append(f"{r.name}/{VARIANT_PLAYLIST}")
    return "\n".join(lines) + "\n"


def _content_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return "h" + digest.hexdigest()[:12]


def package(source: Path, work_dir: Path, *, deterministic: bool = False) -> Package:
    """Package `source` into `work_dir/<version>/`; raises PackagingError with the reason.

    `deterministic` encodes on one thread: multithreaded x264 with a VBV cap does not give
    byte-identical output run to run, so the same source would get a new version each time.
    """
    threads = ["-threads", "1"] if deterministic else []
    require_tools()
    info = probe(source)
    staging = work_dir / "staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    renditions = [
        _encode(source, staging / f"{h}p", h, kbps, info, threads) for h, kbps in ladder_for(info)
    ]
    poster_at = min(1.0, info.duration / 2)
    _run(
        [
            *FFMPEG,
            "-ss",
            f"{poster_at:.2f}",
            "-i",
            str(source),
            "-frames:v",
            "1",
            "-vf",
            f"scale=-2:{min(info.height, 720)}",
            "-q:v",
            "4",
            str(staging / POSTER),
        ],
        "extracting the poster",
    )
    (staging / MASTER_PLAYLIST).write_text(master_playlist(renditions, info.frame_rate))
    version = _content_hash(staging)
    final = work_dir / version
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    return Package(
        directory=final, version=version, renditions=tuple(renditions), duration=info.duration
    )
