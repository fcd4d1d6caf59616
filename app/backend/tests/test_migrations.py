"""Migrations under the advisory lock: many tasks starting at once are safe."""

from __future__ import annotations

import threading

import psycopg
import pytest

from catalog import prepare_database
from catalog.db import Database
from catalog.migrate import Migration, load_migrations, migrate
from catalog.seed import DEMO_VIDEO_COUNT, demo_videos, seed_demo_catalog
from devtools.local_pg import LocalPostgres
from tests.conftest import make_config

INSTANCES = 6


def test_migrations_are_numbered_and_ordered() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert all(m.sql.strip() for m in migrations)


def test_concurrent_startup_applies_schema_exactly_once(fresh_pg: LocalPostgres) -> None:
    """Several instances, each with its own connection, migrate one empty DB at once."""
    config = make_config(fresh_pg)
    barrier = threading.Barrier(INSTANCES)
    errors: list[BaseException] = []
    databases = [Database(config) for _ in range(INSTANCES)]

    def start(db: Database) -> None:
        try:
            barrier.wait(timeout=10)
            prepare_database(db, seed=True, wait_seconds=10)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(db,)) for db in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []

    with fresh_pg.superuser_conn(fresh_pg.dbname) as conn:
        rows = conn.execute(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version"
        ).fetchall()
        videos = conn.execute("SELECT count(*), count(DISTINCT id) FROM videos").fetchone()
        categories = conn.execute("SELECT count(*) FROM categories").fetchone()
    assert rows == [(m.version, 1) for m in load_migrations()]
    assert videos == (DEMO_VIDEO_COUNT, DEMO_VIDEO_COUNT)
    assert categories == (12,)


def test_restart_applies_nothing_and_keeps_view_counts(fresh_pg: LocalPostgres) -> None:
    db = Database(make_config(fresh_pg))
    with db.connect() as conn:
        assert migrate(conn) == [m.version for m in load_migrations()]
        assert seed_demo_catalog(conn) == DEMO_VIDEO_COUNT
        conn.execute("UPDATE videos SET views = 0 WHERE id = 1")
        assert migrate(conn) == []
        assert seed_demo_catalog(conn) == 0
        row = conn.execute("SELECT views FROM videos WHERE id = 1").fetchone()
        assert row == (0,)
        # New rows get ids after the seeded ones.
        new = conn.execute(
            "INSERT INTO videos (title, category_id, duration_seconds, published_at) "
            "VALUES ('x', 1, 10, now()) RETURNING id"
        ).fetchone()
        assert new is not None
        assert new[0] > DEMO_VIDEO_COUNT


def test_failed_migration_leaves_nothing_behind(fresh_pg: LocalPostgres) -> None:
    db = Database(make_config(fresh_pg))
    broken = [
        Migration(1, "ok", "CREATE TABLE t1 (id int)"),
        Migration(2, "broken", "CREATE TABLE t2 (id nonexistent_type)"),
    ]
    with db.connect() as conn:
        with pytest.raises(psycopg.errors.UndefinedObject):
            migrate(conn, broken)
        assert conn.execute("SELECT to_regclass('t1')").fetchone() == (None,)


def test_demo_data_is_deterministic() -> None:
    assert demo_videos(50) == demo_videos(50)
    assert len(demo_videos()) == DEMO_VIDEO_COUNT


def test_search_uses_trigram_index(pg: LocalPostgres, app: object) -> None:
    with pg.superuser_conn(pg.dbname) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            str(r[0])
            for r in conn.execute(
                "EXPLAIN SELECT id FROM videos WHERE title ILIKE '%ocean%'"
            ).fetchall()
        )
    assert "videos_title_trgm_idx" in plan


def test_keyset_page_uses_order_index(pg: LocalPostgres, app: object) -> None:
    with pg.superuser_conn(pg.dbname) as conn:
        plan = "\n".join(
            str(r[0])
            for r in conn.execute(
                "EXPLAIN SELECT id FROM videos WHERE (published_at, id) < (now(), 500) "
                "ORDER BY published_at DESC, id DESC LIMIT 21"
            ).fetchall()
        )
    assert "videos_published_id_idx" in plan
    assert "Sort" not in plan


def test_lock_wait_and_slow_migration_ignore_request_statement_timeout(
    fresh_pg: LocalPostgres,
) -> None:
    """Tasks waiting for the lock must not hit the 100 ms request statement timeout."""
    db = Database(make_config(fresh_pg, DB_STATEMENT_TIMEOUT_MS="100"))
    slow = [Migration(1, "slow", "SELECT pg_sleep(0.5); CREATE TABLE slow_t (id int)")]
    errors: list[BaseException] = []
    applied: list[list[int]] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        try:
            with db.connect() as conn:
                barrier.wait(timeout=10)
                applied.append(migrate(conn, slow))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(applied) == [[], [], [1]]
