"""Database outages and credential rotation must never surface as a 500."""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from catalog import create_app
from catalog.breaker import Watchdog
from catalog.credentials import CredentialsUnavailableError, SecretsManagerCredentials
from catalog.db import Database, DatabaseUnavailableError
from devtools.local_pg import LocalPostgres
from tests.conftest import make_config

REGION = "ap-southeast-1"


@pytest.fixture
def outage_app(fresh_pg: LocalPostgres) -> Iterator[Flask]:
    app = create_app(make_config(fresh_pg, DB_POOL_TIMEOUT="1", SEED_DEMO_DATA="false"))
    yield app
    app.extensions["catalog_db"].close()


def wait_for(client: FlaskClient, path: str, status: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if client.get(path).status_code == status:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{path} did not return {status} within {timeout} s")


def test_db_down_then_back_without_restart(outage_app: Flask, fresh_pg: LocalPostgres) -> None:
    client = outage_app.test_client()
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/videos").status_code == 200

    fresh_pg.stop()
    started = time.monotonic()
    resp = client.get("/api/health")
    assert resp.status_code == 503
    assert time.monotonic() - started < 5
    body = resp.get_json()
    assert body["status"] == "unavailable"
    assert body["database"] == "unreachable"
    assert body["error"]["code"] == "database_unavailable"
    assert resp.headers["Cache-Control"] == "no-store"

    live = client.get("/health")
    assert live.status_code == 200
    assert live.get_json() == {"status": "ok"}

    for path in ("/api/videos", "/api/videos/1"):
        resp = client.get(path)
        assert resp.status_code == 503, path
        assert resp.get_json()["error"]["code"] == "database_unavailable"
        assert resp.headers["Cache-Control"] == "no-store"
    assert client.post("/api/videos/1/views", json={}).status_code == 503

    fresh_pg.start()
    wait_for(client, "/api/health", 200, timeout=15)
    assert client.get("/api/videos").status_code == 200
    assert client.post("/api/videos/1/views", json={}).status_code == 404  # empty catalog


def test_connections_dropped_by_server_are_retried(
    outage_app: Flask, fresh_pg: LocalPostgres
) -> None:
    """A failover or idle-kill closes pooled connections: requests retry transparently."""
    client = outage_app.test_client()
    assert client.get("/api/videos").status_code == 200
    assert fresh_pg.terminate_app_connections() >= 1
    for _ in range(5):
        assert client.get("/api/videos").status_code == 200
        assert client.post("/api/videos/2/views", json={}).status_code == 404  # answered by the DB


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def secret_string(pg: LocalPostgres, password: str) -> str:
    return json.dumps(
        {
            "username": pg.app_user,
            "password": password,
            "host": pg.host,
            "port": pg.port,
            "dbname": pg.dbname,
            "engine": "postgres",
        }
    )


def test_wrong_secret_gives_503_not_500(fresh_pg: LocalPostgres, aws: Any) -> None:
    """A secret that does not match the database is an outage, reported as 503."""
    arn = aws.create_secret(Name="catalog-db", SecretString=secret_string(fresh_pg, "wrong"))["ARN"]
    config = make_config(
        fresh_pg,
        DB_SECRET_ARN=arn,
        AWS_REGION=REGION,
        DB_USER="",
        DB_PASSWORD="",
        RUN_MIGRATIONS="false",
        DB_POOL_TIMEOUT="1",
    )
    app = create_app(config)
    try:
        client = app.test_client()
        assert client.get("/api/health").status_code == 503
        assert client.get("/api/videos").status_code == 503
        assert client.get("/health").status_code == 200
    finally:
        app.extensions["catalog_db"].close()


def test_rotation_window_uses_pending_version(fresh_pg: LocalPostgres, aws: Any) -> None:
    """The DB already has the AWSPENDING password while AWSCURRENT is still old."""
    arn = aws.create_secret(
        Name="catalog-db", SecretString=secret_string(fresh_pg, fresh_pg.app_password)
    )["ARN"]
    app = create_app(
        make_config(fresh_pg, DB_SECRET_ARN=arn, AWS_REGION=REGION, DB_USER="", DB_PASSWORD="")
    )
    try:
        client = app.test_client()
        assert client.get("/api/videos?limit=1").status_code == 200
        new_password = "pending-" + fresh_pg.app_password
        aws.put_secret_value(
            SecretId=arn,
            SecretString=secret_string(fresh_pg, new_password),
            VersionStages=["AWSPENDING"],
        )
        fresh_pg.set_app_password(new_password)
        fresh_pg.terminate_app_connections()
        statuses = {client.get(f"/api/videos/{i}").status_code for i in range(1, 11)}
        assert statuses == {200}
    finally:
        app.extensions["catalog_db"].close()


def test_secret_reads_are_typed_and_forced_rereads_throttled() -> None:
    calls: list[str] = []
    secret = json.dumps({"username": "app", "password": "old"})

    class FakeSecretsManager:
        fail = False

        def get_secret_value(self, **kwargs: Any) -> Any:
            calls.append(kwargs["VersionStage"])
            if self.fail:
                raise RuntimeError("throttled")
            if kwargs["VersionStage"] == "AWSPENDING":
                error = RuntimeError("no pending version")
                error.response = {"Error": {"Code": "ResourceNotFoundException"}}  # type: ignore[attr-defined]
                raise error
            return {"SecretString": secret}

    client = FakeSecretsManager()
    provider = SecretsManagerCredentials("arn:x", client=client, min_refresh_interval=60)
    old = provider.get()
    assert calls == ["AWSCURRENT"]
    # The password really is wrong: one re-read (current + pending), then throttled.
    assert provider.refresh_after_failure(old) == old
    assert provider.refresh_after_failure(old) == old
    assert calls == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]

    client.fail = True
    fresh = SecretsManagerCredentials("arn:x", client=client)
    with pytest.raises(CredentialsUnavailableError, match="cannot read secret arn:x"):
        fresh.get()


def test_statement_timeout_is_503_not_500(pg: LocalPostgres) -> None:
    db = Database(make_config(pg, DB_STATEMENT_TIMEOUT_MS="50", RUN_MIGRATIONS="false"))
    db.open()
    try:
        with pytest.raises(DatabaseUnavailableError, match="statement timeout"):
            db.run(lambda conn: conn.execute("SELECT pg_sleep(1)"))
        assert db.run(lambda conn: conn.execute("SELECT 1").fetchone()) == (1,)
    finally:
        db.close()


def test_head_and_no_seed(fresh_pg: LocalPostgres) -> None:
    app = create_app(make_config(fresh_pg, SEED_DEMO_DATA="false"))
    try:
        client = app.test_client()
        resp = client.head("/api/videos")
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"].startswith("public")
        assert client.get("/api/videos").get_json() == {"items": [], "next_cursor": None}
        assert client.get("/api/categories").get_json() == {"items": []}
    finally:
        app.extensions["catalog_db"].close()


def test_breaker_fails_fast_and_closes_when_the_database_returns(fresh_pg: LocalPostgres) -> None:
    db = Database(make_config(fresh_pg, RUN_MIGRATIONS="false", DB_POOL_TIMEOUT="0.2"))
    db.open()
    select = lambda conn: conn.execute("SELECT 1").fetchone()  # noqa: E731
    try:
        assert db.run(select) == (1,)
        fresh_pg.stop()
        for _ in range(db.config.db_breaker_failures):
            with pytest.raises(DatabaseUnavailableError):
                db.run(select)
        assert db.breakers["reader"].state == "open"
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match="open"):
            db.run(select)
        assert time.monotonic() - started < 0.05  # no pool wait while open
        fresh_pg.start()
        back = time.monotonic()
        while True:
            try:
                assert db.run(select) == (1,)
                break
            except DatabaseUnavailableError:
                assert time.monotonic() - back < 2, "not closed within 2 s of the return"
                time.sleep(0.05)
        assert db.breakers["reader"].state == "closed"
    finally:
        db.close()


def test_lock_timeout_is_set_and_ends_a_blocked_query(app: Flask, pg: LocalPostgres) -> None:
    db = Database(make_config(pg, RUN_MIGRATIONS="false"))
    db.open()
    try:
        settings = db.run(
            lambda c: c.execute(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
            ).fetchone()
        )
        assert settings == ("500ms", "2s")
        with pg.superuser_conn(pg.dbname) as holder:
            holder.autocommit = False
            holder.execute("LOCK TABLE videos IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailableError, match="lock timeout"):
                db.run(lambda c: c.execute("SELECT count(*) FROM videos").fetchone())
            assert time.monotonic() - started < 1.5
            holder.rollback()
    finally:
        db.close()


def test_every_query_deadline_is_disarmed_however_the_query_ends(pg: LocalPostgres) -> None:
    """A query that returns, fails in the database or raises in the caller's code leaves no
    deadline behind (one left armed would shut a later query's socket down)."""
    db = Database(make_config(pg, RUN_MIGRATIONS="false"))
    db.open()
    try:
        assert db.run(lambda c: c.execute("SELECT 1").fetchone()) == (1,)
        with pytest.raises(psycopg.errors.UndefinedTable):
            db.run(lambda c: c.execute("SELECT * FROM no_such_table").fetchone())

        def fails_in_the_caller(conn: psycopg.Connection[Any]) -> None:
            raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            db.run(fails_in_the_caller)
        assert db.watchdog._active == {}
        assert db.watchdog.fired == 0
    finally:
        db.close()


def test_watchdog_ends_a_query_on_a_frozen_server(fresh_pg: LocalPostgres) -> None:
    """statement_timeout cannot fire on a frozen server: the client-side deadline does."""
    from tests.faults.harness import frozen

    db = Database(make_config(fresh_pg, RUN_MIGRATIONS="false", DB_STATEMENT_TIMEOUT_MS="300"))
    db.open()
    try:
        assert db.run(lambda c: c.execute("SELECT 1").fetchone()) == (1,)
        started = time.monotonic()
        with frozen(fresh_pg), pytest.raises(DatabaseUnavailableError):
            db.run(lambda c: c.execute("SELECT 1").fetchone())
        assert time.monotonic() - started < db.query_deadline + 1.0
        assert db.watchdog.fired >= 1
    finally:
        db.close()


def test_watchdog_restarts_in_a_forked_child() -> None:
    """A server that forks after the first query (gunicorn --preload, a respawn)
    gets a watchdog thread in the child: deadlines still fire there."""
    watchdog = Watchdog(tick=0.01)
    left, right = socket.socketpair()
    watchdog.disarm(watchdog.arm(left.fileno(), 10.0))  # the parent's watchdog thread now runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a threaded process
        pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if the deadline shut the socket down
        code = 2
        try:
            left.settimeout(3.0)
            watchdog.arm(left.fileno(), 0.05)
            code = 0 if left.recv(1) == b"" else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    left.close()
    right.close()
    assert os.waitstatus_to_exitcode(status) == 0, "the deadline never fired in the child"
