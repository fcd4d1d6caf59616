"""Schema migrations applied at startup under a PostgreSQL advisory lock.

Every task runs this when it starts. The transaction-scoped advisory lock
serialises them: the first applies the pending migrations, the others wait,
then find nothing left to do. Each migration and its bookkeeping row commit
together, so a crash never leaves a half-applied version.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import psycopg

log = logging.getLogger(__name__)

# Arbitrary constant shared by every task of this service ("catalog" in hex-ish).
MIGRATION_LOCK_KEY = 0x0CA7A109
MIGRATION_TIMEOUT: Final = "15min"

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """All migrations shipped with the package, ordered by version."""
    found: list[Migration] = []
    for entry in resources.files("catalog.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def migrate(conn: psycopg.Connection[Any], migrations: list[Migration] | None = None) -> list[int]:
    """Apply pending migrations; return the versions this call applied."""
    migrations = load_migrations() if migrations is None else migrations
    applied_now: list[int] = []
    with conn.transaction():
        # The request statement_timeout must not cut short a long migration,
        # nor the wait of the other tasks for the lock.
        conn.execute(f"SET LOCAL statement_timeout = '{MIGRATION_TIMEOUT}'")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for m in migrations:
            if m.version in done:
                continue
            log.info("applying migration", extra={"version": m.version, "migration": m.name})
            with conn.transaction():
                conn.execute(m.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (m.version, m.name),
                )
            applied_now.append(m.version)
    return applied_now
