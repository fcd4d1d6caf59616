#!/usr/bin/env python3
"""Publish a video: ``publish_media.py SOURCE --video-id N --bucket BUCKET``.

Packages SOURCE as an adaptive HLS ladder (ffmpeg), uploads it under
``media/<id>/<version>/`` with the right Content-Type and Cache-Control, and only
then sets the video's ``media_version`` in the catalog. No public API endpoint is
involved: the script writes the catalog through the database itself (the
connection string comes from ``--dsn`` or ``PUBLISH_DATABASE_DSN``), so only an
operator who can reach the database can publish. On any failure it exits 1 with
the reason, and nothing new is visible.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BACKEND))

import boto3  # noqa: E402
import psycopg  # noqa: E402

from publishing.package import PackagingError, package  # noqa: E402
from publishing.publish import PublishError, publish, require_video  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="the source video file")
    parser.add_argument("--video-id", type=int, required=True, help="catalog id of the video")
    parser.add_argument(
        "--bucket",
        default=os.environ.get("MEDIA_BUCKET"),
        help="media bucket (MediaBucketName output)",
    )
    parser.add_argument(
        "--dsn", default=os.environ.get("PUBLISH_DATABASE_DSN"), help="libpq connection string"
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "ap-southeast-1"))
    parser.add_argument(
        "--endpoint-url", default=os.environ.get("S3_ENDPOINT_URL"), help="S3 endpoint (tests)"
    )
    args = parser.parse_args(argv)
    if args.video_id < 1:
        parser.error("--video-id must be a positive integer")
    if not args.bucket:
        parser.error("--bucket (or MEDIA_BUCKET) is required")
    if not args.dsn:
        parser.error("--dsn (or PUBLISH_DATABASE_DSN) is required")

    try:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            require_video(conn, args.video_id)  # before spending minutes on ffmpeg
            with tempfile.TemporaryDirectory(prefix="publish-") as work:
                pkg = package(args.source, Path(work))
                s3 = boto3.client("s3", region_name=args.region, endpoint_url=args.endpoint_url)
                done = publish(conn, s3, args.bucket, args.video_id, pkg)
    except (PackagingError, PublishError) as exc:
        print(f"publish failed: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(
            f"publish failed: cannot reach the catalog database ({str(exc).strip()})",
            file=sys.stderr,
        )
        return 1
    ladder = ", ".join(
        f"{r.width}x{r.height} @ {r.bandwidth // 1000} kbit/s" for r in pkg.renditions
    )
    print(
        f"published video {done.video_id} version {done.version}: {done.manifest_path} ({ladder})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
