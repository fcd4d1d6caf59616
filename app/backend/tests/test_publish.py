"""Publishing: real ffmpeg on a generated clip, moto's S3 as the bucket, the real catalog database.

Checks the ladder (playlists, codecs, segment durations, master attributes),
the object metadata, and that every failure leaves nothing visible.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from devtools.clips import synthesise
from devtools.local_pg import LocalPostgres
from publishing.package import (
    LADDER,
    SEGMENT_SECONDS,
    PackagingError,
    media_formats,
    package,
)
from publishing.publish import PublishError, package_prefix, publish

BACKEND = Path(__file__).resolve().parent.parent
BUCKET = "media-test"
REGION = "ap-southeast-1"
CLIP_SECONDS = 10
VIDEO_ID = 777  # a seeded demo video without media

pytestmark = pytest.mark.slow


def ffprobe(path: Path, *entries: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *entries, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    src = {
        "good": d / "good.mp4",
        "silent": d / "silent.mp4",
        "tiny": d / "tiny.mp4",
        "text": d / "notes.mp4",
    }
    picture = f"testsrc2=size=854x480:rate=25:duration={CLIP_SECONDS}"
    tone = f"sine=frequency=440:sample_rate=48000:duration={CLIP_SECONDS}"
    fast = ("-c:v", "libx264", "-preset", "ultrafast")
    synthesise(src["good"], picture, tone, (*fast, "-c:a", "aac"))
    synthesise(src["silent"], picture, None, fast)
    tiny = "testsrc2=size=320x180:rate=25:duration=3"
    synthesise(src["tiny"], tiny, tone, (*fast, "-c:a", "aac"))
    src["text"].write_text("this is not a video\n")
    return src


@pytest.fixture(scope="module")
def packaged(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    return package(clips["good"], tmp_path_factory.mktemp("package"))


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield client


@pytest.fixture
def conn(app: Any, pg: LocalPostgres) -> Iterator[psycopg.Connection[Any]]:
    """The migrated, seeded catalog (the `app` fixture prepared it); VIDEO_ID reset afterwards."""
    env = pg.env()
    dsn = (
        f"host={env['DB_WRITER_HOST']} port={env['DB_PORT']} dbname={env['DB_NAME']} "
        f"user={env['DB_USER']} password={env['DB_PASSWORD']}"
    )
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection
        connection.execute("UPDATE videos SET media_version = NULL WHERE id = %s", (VIDEO_ID,))


def keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def version_of(conn: psycopg.Connection[Any], video_id: int) -> str | None:
    row = conn.execute("SELECT media_version FROM videos WHERE id = %s", (video_id,)).fetchone()
    assert row is not None
    return None if row[0] is None else str(row[0])


# ---------------------------------------------------------------- the ladder


def test_master_playlist_lists_every_rendition_with_bandwidth_resolution_and_codecs(
    packaged: Any,
) -> None:
    master = (packaged.directory / "master.m3u8").read_text().splitlines()
    assert master[0] == "#EXTM3U"
    variants = [
        (line, master[i + 1])
        for i, line in enumerate(master)
        if line.startswith("#EXT-X-STREAM-INF:")
    ]
    expected = [h for h, _ in LADDER if h <= 480]
    assert len(variants) == len(expected) >= 2
    for (info, uri), rendition in zip(
        variants, sorted(packaged.renditions, key=lambda r: -r.bandwidth), strict=True
    ):
        assert f"BANDWIDTH={rendition.bandwidth}," in info
        assert f"RESOLUTION={rendition.width}x{rendition.height}," in info
        assert f'CODECS="{rendition.codecs}"' in info
        assert uri == f"{rendition.name}/index.m3u8"
        assert (packaged.directory / uri).is_file()


def test_renditions_are_h264_aac_of_the_right_size_and_duration(packaged: Any) -> None:
    for rendition in packaged.renditions:
        playlist = packaged.directory / rendition.name / "index.m3u8"
        probe = ffprobe(playlist, "-show_streams", "-show_format")
        video = next(s for s in probe["streams"] if s["codec_type"] == "video")
        audio = next(s for s in probe["streams"] if s["codec_type"] == "audio")
        assert (video["codec_name"], video["profile"]) == ("h264", "High")
        assert audio["codec_name"] == "aac"
        assert video["height"] == rendition.height == int(rendition.name.removesuffix("p"))
        assert video["width"] % 2 == 0
        assert abs(video["width"] / video["height"] - 854 / 480) < 0.01
        # CODECS attribute matches the stream: avc1.<profile 0x64><constraints><level>.
        assert rendition.codecs == f"avc1.6400{int(video['level']):02x},mp4a.40.2"
        assert float(probe["format"]["duration"]) == pytest.approx(CLIP_SECONDS, abs=0.3)


def test_segments_are_four_to_six_seconds(packaged: Any) -> None:
    for rendition in packaged.renditions:
        *full, last = rendition.segment_durations
        assert full, "a 10 s clip must give more than one segment"
        for seconds in full:
            assert 4 <= seconds <= 6
            assert seconds == pytest.approx(SEGMENT_SECONDS, abs=0.05)
        assert 0 < last <= 6
        assert sum(rendition.segment_durations) == pytest.approx(CLIP_SECONDS, abs=0.3)
        text = (packaged.directory / rendition.name / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text
        assert text.rstrip().endswith("#EXT-X-ENDLIST")
        # Each segment starts on a keyframe: players can switch renditions at any boundary.
        first = sorted((packaged.directory / rendition.name).glob("*.ts"))[1]
        frames = ffprobe(
            first,
            "-select_streams",
            "v:0",
            "-show_frames",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "frame=key_frame",
        )
        assert frames["frames"][0]["key_frame"] == 1


def test_poster_is_a_jpeg(packaged: Any) -> None:
    stream = ffprobe(packaged.directory / "poster.jpg", "-show_streams")["streams"][0]
    assert stream["codec_name"] == "mjpeg"
    assert stream["height"] == 480


# ---------------------------------------------------------------- publishing


def test_publish_uploads_with_metadata_then_marks_playable(
    packaged: Any, s3: Any, conn: Any
) -> None:
    assert version_of(conn, VIDEO_ID) is None
    done = publish(conn, s3, BUCKET, VIDEO_ID, packaged)
    prefix = package_prefix(VIDEO_ID, packaged.version)
    assert prefix == f"media/{VIDEO_ID}/{packaged.version}/"
    assert sorted(keys(s3)) == sorted(done.keys)
    assert all(k.startswith(prefix) for k in done.keys)
    assert done.keys[-1] == prefix + "master.m3u8", "the master playlist goes last"
    formats = media_formats()
    for key in done.keys:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        meta = formats[key.rsplit(".", 1)[1]]
        assert head["ContentType"] == meta["content_type"], key
        assert (
            head["CacheControl"] == meta["cache_control"] == "public, max-age=31536000, immutable"
        ), key
    assert {k.rsplit(".", 1)[1] for k in done.keys} == {"m3u8", "ts", "jpg"}
    assert version_of(conn, VIDEO_ID) == packaged.version


def test_upload_failure_midway_removes_everything_and_marks_nothing(
    packaged: Any, s3: Any, conn: Any
) -> None:
    real_put = s3.put_object
    calls = {"n": 0}

    def failing_put(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise ConnectionError("connection reset by peer")
        return real_put(**kwargs)

    s3.put_object = failing_put
    with pytest.raises(
        PublishError, match=r"failed after 3 objects .* uploaded objects were removed"
    ):
        publish(conn, s3, BUCKET, VIDEO_ID, packaged)
    assert keys(s3) == []
    assert version_of(conn, VIDEO_ID) is None


def test_database_failure_after_upload_removes_the_upload(
    packaged: Any, s3: Any, conn: Any
) -> None:
    conn.execute(
        "ALTER TABLE videos ADD CONSTRAINT publish_blocked "
        "CHECK (media_version IS NULL OR id <> 777)"
    )
    try:
        with pytest.raises(
            PublishError, match=r"marking video 777 playable failed .*upload was removed"
        ):
            publish(conn, s3, BUCKET, VIDEO_ID, packaged)
    finally:
        conn.execute("ALTER TABLE videos DROP CONSTRAINT publish_blocked")
    assert keys(s3) == []
    assert version_of(conn, VIDEO_ID) is None


def test_unknown_video_is_refused_before_any_upload(packaged: Any, s3: Any, conn: Any) -> None:
    with pytest.raises(PublishError, match="video 9999999 is not in the catalog"):
        publish(conn, s3, BUCKET, 9999999, packaged)
    assert keys(s3) == []


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        ("text", "not a video file ffmpeg can read"),
        ("silent", "has no audio stream"),
        ("tiny", "180 px tall; an adaptive ladder needs at least 360 px"),
    ],
)
def test_bad_sources_are_refused_with_the_reason(
    clips: dict[str, Path], tmp_path: Path, clip: str, message: str
) -> None:
    with pytest.raises(PackagingError, match=message):
        package(clips[clip], tmp_path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="no such file"):
        package(tmp_path / "absent.mp4", tmp_path)


def test_cli_reports_the_error_and_exits_1(
    clips: dict[str, Path], pg: LocalPostgres, app: Any
) -> None:
    env = pg.env()
    dsn = (
        f"host={env['DB_WRITER_HOST']} port={env['DB_PORT']} dbname={env['DB_NAME']} "
        f"user={env['DB_USER']} password={env['DB_PASSWORD']}"
    )
    result = subprocess.run(
        [
            sys.executable,
            str(BACKEND / "scripts" / "publish_media.py"),
            str(clips["good"]),
            "--video-id",
            "9999999",
            "--bucket",
            BUCKET,
            "--dsn",
            dsn,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "publish failed: video 9999999 is not in the catalog; create it first"
    )
