"""Fixtures of the fault-injection suite (``make test-faults``)."""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog import prepare_database
from catalog.config import Config
from catalog.db import Database
from devtools.local_pg import LocalPostgres
from tests.faults.harness import MEDIA_SIGNING_ENV, ApiServer

RESULTS: list[dict[str, Any]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def seeded_pg() -> Iterator[LocalPostgres]:
    """One cluster with the demo catalog; scenarios leave it running."""
    # Scenario (f) holds 1,000+ sockets open in this process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 8192), hard), hard))
    pg = LocalPostgres()
    try:
        pg.start()
        env = {**pg.env(), "LOG_LEVEL": "WARNING", **MEDIA_SIGNING_ENV}
        db = Database(Config.from_env(env))
        prepare_database(db, seed=True)
        yield pg
    finally:
        pg.cleanup()


@pytest.fixture
def server_factory(seeded_pg: LocalPostgres, tmp_path: Path) -> Iterator[Callable[..., ApiServer]]:
    servers: list[ApiServer] = []

    def start(pg: LocalPostgres | None = None, **env: str) -> ApiServer:
        server = ApiServer(pg or seeded_pg, tmp_path / f"server-{len(servers)}.log", **env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()


@pytest.fixture
def record() -> Callable[[dict[str, Any]], None]:
    return RESULTS.append


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault injection: measured figures")
    cols = (
        *("fault", "requests", "ok", "503", "lost", "live_probes", "live_failed"),
        *("live_p50_ms", "live_p99_ms", "live_max_ms", "first_503_s", "503_p99_ms", "recovery_s"),
    )
    write(" | ".join(cols))
    for r in RESULTS:
        write(" | ".join(str(r.get(c, "")) for c in cols))
        for key, value in r.items():
            if key not in cols and value not in (None, [], ""):
                write(f"    {key}: {value}")
