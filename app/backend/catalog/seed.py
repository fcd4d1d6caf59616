"""Deterministic demo catalog (~1,000 videos), switched on by SEED_DEMO_DATA.

The same rows come out on every run (fixed ids, fixed random seed), and rows
that exist already are left alone, so seeding is idempotent and never resets
view counts. It runs under the migration advisory lock.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import psycopg

from .migrate import MIGRATION_LOCK_KEY, MIGRATION_TIMEOUT

DEMO_VIDEO_COUNT = 1000

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("documentary", "Documentary"),
    ("music", "Music"),
    ("sports", "Sports"),
    ("science", "Science & Technology"),
    ("travel", "Travel"),
    ("cooking", "Cooking"),
    ("gaming", "Gaming"),
    ("comedy", "Comedy"),
    ("education", "Education"),
    ("nature", "Nature"),
    ("news", "News"),
    ("animation", "Animation"),
)

_ADJECTIVES = (
    "Hidden",
    "Wild",
    "Silent",
    "Electric",
    "Golden",
    "Frozen",
    "Ancient",
    "Urban",
    "Midnight",
    "Endless",
    "Secret",
    "Brilliant",
    "Lost",
    "Rising",
    "Distant",
    "Little",
)
_NOUNS = (
    "Oceans",
    "Cities",
    "Machines",
    "Forests",
    "Rhythms",
    "Kitchens",
    "Mountains",
    "Galaxies",
    "Rivers",
    "Legends",
    "Islands",
    "Deserts",
    "Engines",
    "Gardens",
    "Voices",
    "Streets",
)
_FORMATS = (
    "{adj} {noun}",
    "The {adj} {noun}",
    "{noun} of the {adj} North",
    "Inside the {adj} {noun}",
    "{adj} {noun}: A Journey",
    "Why {noun} Matter",
    "{noun} After Dark",
    "Chasing {adj} {noun}",
)

_EPOCH = datetime(2025, 6, 30, 18, 0, 0, tzinfo=UTC)


def demo_videos(count: int = DEMO_VIDEO_COUNT) -> list[tuple[Any, ...]]:
    """Rows ``(id, title, description, category_slug, duration, views, published_at)``."""
    rng = random.Random(20250630)
    rows: list[tuple[Any, ...]] = []
    published = _EPOCH
    for vid in range(1, count + 1):
        adj, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        title = rng.choice(_FORMATS).format(adj=adj, noun=noun) + f" #{vid}"
        slug, name = rng.choice(CATEGORIES)
        article = "An" if name[0] in "AEIOU" else "A"
        description = (
            f"{article} {name.lower()} film about {adj.lower()} {noun.lower()}. "
            f"Episode {vid} of the demo catalog."
        )
        duration = rng.randint(60, 7200)
        views = rng.randint(0, 250_000)
        # Every third video shares its timestamp with the previous one, so the
        # id tie-breaker of the keyset order is exercised by the demo data.
        if vid % 3:
            published -= timedelta(minutes=rng.randint(5, 720))
        rows.append((vid, title, description, slug, duration, views, published))
    return rows


def seed_demo_catalog(conn: psycopg.Connection[Any], count: int = DEMO_VIDEO_COUNT) -> int:
    """Insert the demo categories and videos that are missing; return videos inserted."""
    with conn.transaction():
        conn.execute(f"SET LOCAL statement_timeout = '{MIGRATION_TIMEOUT}'")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO categories (slug, name) VALUES (%s, %s) ON CONFLICT (slug) DO NOTHING",
                CATEGORIES,
            )
            ids = {slug: cid for cid, slug in cur.execute("SELECT id, slug FROM categories")}
            existing = cur.execute(
                "SELECT count(*) FROM videos WHERE id <= %s", (count,)
            ).fetchone()
            if existing and existing[0] >= count:
                _mark_demo_media(cur)
                return 0
            before = existing[0] if existing else 0
            rows = [
                (vid, title, desc, ids[slug], dur, views, pub)
                for vid, title, desc, slug, dur, views, pub in demo_videos(count)
            ]
            cur.executemany(
                """
                INSERT INTO videos
                    (id, title, description, category_id, duration_seconds, views, published_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (id) DO NOTHING
                """,
                rows,
            )
            # Explicit ids bypass the identity sequence; move it past them.
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('videos', 'id'), "
                "GREATEST((SELECT max(id) FROM videos), 1))"
            )
            cur.execute("ANALYZE videos")
            _mark_demo_media(cur)
            return count - before


def demo_media() -> list[dict[str, Any]]:
    """The packaged demo clips (written by scripts/make_demo_media.py): id, version, duration."""
    text = resources.files("catalog").joinpath("demo_media.json").read_text()
    videos: list[dict[str, Any]] = json.loads(text)["videos"]
    return videos


def _mark_demo_media(cur: psycopg.Cursor[Any]) -> None:
    """Point the demo videos that have clips at their packages (deployed with the stack)."""
    cur.executemany(
        "UPDATE videos SET media_version = %s, duration_seconds = %s, "
        "media_published_at = coalesce(media_published_at, now()) "
        "WHERE id = %s AND media_version IS DISTINCT FROM %s",
        [(m["version"], m["duration_seconds"], m["id"], m["version"]) for m in demo_media()],
    )
