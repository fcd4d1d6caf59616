"""Upload a package to the media bucket, then make it the video's playable version.

Visibility is a single row update that happens last: the catalog points at a
version only after every object of it is in the bucket. Any failure before
that (upload, database) deletes what this run uploaded, so no half-published
version is ever referenced, and the previous version (if any) stays playable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from catalog.playback import MEDIA_PREFIX, package_path

from .package import Package, media_formats

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """Publishing failed; nothing new is visible."""


@dataclass(frozen=True)
class Published:
    video_id: int
    version: str
    keys: tuple[str, ...]
    manifest_path: str


def package_prefix(video_id: int, version: str) -> str:
    """The S3 key prefix of a package: the CloudFront path without its leading '/'."""
    return package_path(video_id, version).lstrip("/")


def require_video(conn: psycopg.Connection[Any], video_id: int) -> None:
    if conn.execute("SELECT 1 FROM videos WHERE id = %s", (video_id,)).fetchone() is None:
        raise PublishError(f"video {video_id} is not in the catalog; create it first")


def upload(s3: Any, bucket: str, video_id: int, pkg: Package) -> list[str]:
    """Put every file with its Content-Type and Cache-Control; on failure delete what was put."""
    formats = media_formats()
    prefix = package_prefix(video_id, pkg.version)
    uploaded: list[str] = []
    try:
        for path in pkg.files():
            meta = formats.get(path.suffix.lstrip("."))
            if meta is None:
                raise PublishError(
                    f"{path.name}: no Content-Type known for '{path.suffix}' "
                    "(app/media/formats.json)"
                )
            key = prefix + str(path.relative_to(pkg.directory))
            with path.open("rb") as body:
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=body,
                    ContentType=meta["content_type"],
                    CacheControl=meta["cache_control"],
                )
            uploaded.append(key)
    except Exception as exc:
        remove(s3, bucket, uploaded)
        if isinstance(exc, PublishError):
            raise
        raise PublishError(
            f"upload to s3://{bucket}/{prefix} failed after {len(uploaded)} objects ({exc}); "
            "the uploaded objects were removed"
        ) from exc
    return uploaded


def remove(s3: Any, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )


def publish(
    conn: psycopg.Connection[Any], s3: Any, bucket: str, video_id: int, pkg: Package
) -> Published:
    """Upload `pkg` and point the catalog at it, all or nothing."""
    require_video(conn, video_id)
    keys = upload(s3, bucket, video_id, pkg)
    try:
        with conn.transaction():
            row = conn.execute(
                "UPDATE videos SET media_version = %s, media_published_at = now() "
                "WHERE id = %s RETURNING id",
                (pkg.version, video_id),
            ).fetchone()
            if row is None:
                raise PublishError(
                    f"video {video_id} disappeared from the catalog during the upload"
                )
    except Exception as exc:
        remove(s3, bucket, keys)
        if isinstance(exc, PublishError):
            raise
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PublishError(
            f"marking video {video_id} playable failed ({first_line}); the upload was removed"
        ) from exc
    manifest = f"/{package_prefix(video_id, pkg.version)}master.m3u8"
    return Published(
        video_id=video_id, version=pkg.version, keys=tuple(keys), manifest_path=manifest
    )


__all__ = [
    "MEDIA_PREFIX",
    "PublishError",
    "Published",
    "package_prefix",
    "publish",
    "remove",
    "upload",
]
