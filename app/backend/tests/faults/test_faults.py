"""Faults injected under concurrent load against the real server and PostgreSQL.

Each scenario asserts the service's goals and records its figures, which the
suite prints at the end (``make test-faults``):

* liveness p99 <= 50 ms during every fault;
* first 503 <= 1 s after an outage starts, 503 p99 <= 100 ms once detected;
* recovery <= 2 s after the database returns;
* no request lost: only 503s during an outage, none outside it, none at all
  for connection kills, credential rotation and SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from devtools.local_pg import LocalPostgres, free_port
from tests.faults.harness import (
    THREADS,
    ApiServer,
    Load,
    Prober,
    Window,
    frozen,
    get,
    json_lines,
    measure,
)

LIVENESS_P99_MS = 50
FIRST_503_S = 1.0
P99_503_MS = 100
RECOVERY_S = 2.0
WARMUP_S = 1.0
FAULT_S = 3.0
AFTER_S = 2.5

Start = Callable[..., ApiServer]
Record = Callable[[dict[str, Any]], None]


class TimingGoalError(AssertionError):
    """A latency or recovery goal missed. Only these are retried (`--only-rerun TimingGoalError`
    in the Makefile): on a shared 2-core machine another tenant's burst can move a p99 built
    from ~150 liveness probes. Lost requests, 500s and failed probes are never retried."""


def within(result: dict[str, Any], key: str, limit: float) -> None:
    value = result[key]
    if value is None or value > limit:
        raise TimingGoalError(f"{key} = {value}, goal <= {limit}: {result}")


def assert_outage_goals(result: dict[str, Any]) -> None:
    assert result["lost"] == 0, result
    assert result["live_failed"] == 0, result
    within(result, "live_p99_ms", LIVENESS_P99_MS)
    assert result["first_503_s"] is not None, result
    within(result, "first_503_s", FIRST_503_S)
    within(result, "503_p99_ms", P99_503_MS)
    assert result["recovery_s"] is not None, result
    within(result, "recovery_s", RECOVERY_S)


def assert_no_loss(result: dict[str, Any]) -> None:
    assert result["lost"] == 0, result
    assert result["503"] == 0, result
    assert result["live_failed"] == 0, result
    within(result, "live_p99_ms", LIVENESS_P99_MS)


# --- (a) database frozen, then stopped -----------------------------------------


def outage(name: str, server: ApiServer, fault: AbstractContextManager[object]) -> dict[str, Any]:
    """Load and liveness probes on ``server`` around ``fault`` (held for FAULT_S), measured."""
    with Prober(server.port) as probe, Load(server.port) as load:
        time.sleep(WARMUP_S)
        start = time.monotonic()
        with fault:
            time.sleep(FAULT_S)
        back = time.monotonic()
        time.sleep(AFTER_S)
    return measure(name, load, probe, Window(start, back, back), outage=True)


@contextlib.contextmanager
def stopped(pg: LocalPostgres) -> Iterator[None]:
    pg.stop()
    try:
        yield
    finally:
        pg.start()


@contextlib.contextmanager
def locked(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """An ACCESS EXCLUSIVE lock on videos, held by ``conn`` until the block ends."""
    conn.autocommit = False
    conn.execute("LOCK TABLE videos IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.rollback()


def test_a_database_frozen(server_factory: Start, seeded_pg: LocalPostgres, record: Record) -> None:
    result = outage("a1 SIGSTOP database", server_factory(), frozen(seeded_pg))
    record(result)
    assert_outage_goals(result)


def test_a_database_stopped(server_factory: Start, record: Record) -> None:
    pg = LocalPostgres()
    try:
        pg.start()
        server = server_factory(pg, RUN_MIGRATIONS="true", SEED_DEMO_DATA="true")
        result = outage("a2 stop database", server, stopped(pg))
        record(result)
        assert_outage_goals(result)
    finally:
        pg.cleanup()


# --- (b) every app connection killed, repeatedly -------------------------------


def test_b_connections_killed(
    server_factory: Start, seeded_pg: LocalPostgres, record: Record
) -> None:
    server = server_factory()
    kills = 0
    with Prober(server.port) as probe, Load(server.port) as load:
        time.sleep(WARMUP_S)
        start = time.monotonic()
        for _ in range(20):
            kills += seeded_pg.terminate_app_connections()
            time.sleep(0.15)
        end = time.monotonic()
        time.sleep(1.0)
    result = measure("b kill connections x20", load, probe, Window(start, end), outage=False)
    result["connections_killed"] = kills
    record(result)
    assert kills >= 20
    assert_no_loss(result)


# --- (c) an exclusive lock held on the videos table ----------------------------


def test_c_exclusive_lock(server_factory: Start, seeded_pg: LocalPostgres, record: Record) -> None:
    server = server_factory()
    with seeded_pg.superuser_conn(seeded_pg.dbname) as conn:
        result = outage("c exclusive lock", server, locked(conn))
    record(result)
    assert_outage_goals(result)


# --- (d) credential rotation in the rotation function's order, under load -------


def _secret(pg: LocalPostgres, password: str) -> str:
    return json.dumps({"username": pg.app_user, "password": password, "engine": "postgres"})


def test_d_rotation_under_load(server_factory: Start, record: Record) -> None:
    """createSecret (AWSPENDING), setSecret (ALTER ROLE), testSecret, finishSecret
    (AWSCURRENT moves), with every app connection killed after each step so the
    API must log in again at each stage."""
    pg = LocalPostgres()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    moto.start()
    try:
        pg.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        sm = boto3.client(
            "secretsmanager",
            region_name="ap-southeast-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        # moto keeps its accounts in the process, across servers: a rerun (TimingGoalError) must
        # not find the secret of the attempt before it.
        arn = sm.create_secret(
            Name=f"catalog-db-{uuid.uuid4().hex[:8]}", SecretString=_secret(pg, pg.app_password)
        )["ARN"]
        server = server_factory(
            pg,
            RUN_MIGRATIONS="true",
            SEED_DEMO_DATA="true",
            DB_USER="",
            DB_PASSWORD="",
            DB_SECRET_ARN=arn,
            AWS_REGION="ap-southeast-1",
            AWS_ENDPOINT_URL_SECRETS_MANAGER=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
        )
        new_password = "rotated-" + pg.app_password
        with Prober(server.port) as probe, Load(server.port) as load:
            time.sleep(WARMUP_S)
            start = time.monotonic()
            # createSecret: the new version under AWSPENDING only.
            token = "v2-token-000000000000000000000000000"
            sm.put_secret_value(
                SecretId=arn,
                ClientRequestToken=token,
                SecretString=_secret(pg, new_password),
                VersionStages=["AWSPENDING"],
            )
            pg.terminate_app_connections()
            time.sleep(0.5)
            # setSecret: the database now has the pending password.
            pg.set_app_password(new_password)
            pg.terminate_app_connections()
            time.sleep(0.5)
            # testSecret: the pending credentials log in.
            psycopg.connect(
                host=pg.host, port=pg.port, dbname=pg.dbname, user=pg.app_user,
                password=new_password, connect_timeout=5,
            ).close()  # fmt: skip
            time.sleep(0.3)
            # finishSecret: AWSCURRENT moves to the new version.
            current = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
            old = next(v for v, stages in current.items() if "AWSCURRENT" in stages)
            sm.update_secret_version_stage(
                SecretId=arn,
                VersionStage="AWSCURRENT",
                MoveToVersionId=token,
                RemoveFromVersionId=old,
            )
            pg.terminate_app_connections()
            time.sleep(1.0)
            end = time.monotonic()
            time.sleep(0.5)
        result = measure("d rotation under load", load, probe, Window(start, end), outage=False)
        record(result)
        assert_no_loss(result)
        logs = server.log_lines()
        assert any("AWSPENDING" in line for line in logs), "the pending version was never used"
    finally:
        moto.stop()
        pg.cleanup()


# --- (e) SIGTERM under load -----------------------------------------------------


def total_views(pg: LocalPostgres) -> int:
    with pg.superuser_conn(pg.dbname) as conn:
        row = conn.execute("SELECT sum(views) FROM videos").fetchone()
    assert row is not None
    return int(str(row[0]))


def test_e_sigterm_under_load(
    server_factory: Start, seeded_pg: LocalPostgres, record: Record
) -> None:
    server = server_factory(GRACEFUL_TIMEOUT="20")
    views_before = total_views(seeded_pg)
    with Prober(server.port) as probe, Load(server.port) as load:
        time.sleep(WARMUP_S)
        start = time.monotonic()
        code, took = server.stop()
        end = time.monotonic()
        time.sleep(0.3)
    result = measure("e SIGTERM under load", load, probe, Window(start, start), outage=False)
    counted = sum(1 for s in load.samples if s.kind == "write" and s.status == 200)
    result["exit_code"] = code
    result["stop_s"] = round(took, 2)
    result["refused_after_stop"] = load.refused_after_stop
    result["retried_on_closed_keepalive"] = load.retried_stale
    result["views_counted_vs_answered"] = f"{total_views(seeded_pg) - views_before}/{counted}"
    record(result)
    assert result["lost"] == 0, result
    assert code == 0
    assert took < 20  # the graceful budget, below ECS's 30 s stop timeout
    assert all(s.end <= end + 0.1 for s in load.samples if s.status is not None)
    # Every answered view was counted once; none that got no answer was.
    assert total_views(seeded_pg) - views_before == counted


def read_one_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length body from a keep-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)content-length: *(\d+)", head)
    assert match, head
    while len(body) < int(match[1]):
        body += sock.recv(65536)
    return data


def test_e_inflight_request_finishes_with_connection_close(
    server_factory: Start, seeded_pg: LocalPostgres
) -> None:
    """A request in flight at SIGTERM is answered, with Connection: close so the
    client does not reuse the socket; then the server exits."""
    server = server_factory(DB_LOCK_TIMEOUT_MS="3000", DB_STATEMENT_TIMEOUT_MS="5000")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /api/videos/1 HTTP/1.1\r\nHost: x\r\n\r\n")
    first = read_one_response(sock)
    assert first.startswith(b"HTTP/1.1 200")
    with seeded_pg.superuser_conn(seeded_pg.dbname) as conn:
        conn.autocommit = False
        conn.execute("LOCK TABLE videos IN ACCESS EXCLUSIVE MODE")
        sock.sendall(b"GET /api/videos/2 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # the request now waits for the lock
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.rollback()
    reply = b""
    while chunk := sock.recv(65536):
        reply += chunk
    sock.close()
    head = reply.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200"), reply[:200]
    assert b"connection: close" in head
    assert server.proc.wait(timeout=20) == 0


# --- (f) slow and idle connections ----------------------------------------------


def test_f_slow_and_idle_connections(server_factory: Start, record: Record) -> None:
    header_timeout_ms = 3000
    server = server_factory(HEADER_READ_TIMEOUT_MS=str(header_timeout_ms))
    idle: list[socket.socket] = []
    partial: list[socket.socket] = []
    slow_bodies: list[socket.socket] = []
    try:
        with Prober(server.port) as probe, Load(server.port, clients=4) as load:
            time.sleep(WARMUP_S)
            start = time.monotonic()
            for _ in range(1000):
                idle.append(socket.create_connection(("127.0.0.1", server.port)))
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", server.port))
                s.sendall(b"GET /api/videos HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                partial.append(s)
            # A body that never completes holds one WSGI thread (see README);
            # fewer than the thread count must leave the API serving.
            for _ in range(THREADS // 2):
                s = socket.create_connection(("127.0.0.1", server.port))
                s.sendall(
                    b"POST /api/videos/1/views HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                )
                slow_bodies.append(s)
            opened = time.monotonic()
            fresh = get(server.port, "/api/videos/1")
            fresh_ms = (time.monotonic() - opened) * 1000
            time.sleep(header_timeout_ms / 1000 + 1.0)
            end = time.monotonic()
        result = measure("f 1000 idle + 50 slow", load, probe, Window(start, end), outage=False)
        closed = sum(1 for s in idle + partial if closed_by_server(s))
        result["new_connection_ms"] = round(fresh_ms, 1)
        result["idle_closed_by_server"] = closed
        record(result)
        assert fresh.status == 200
        assert fresh_ms < 1000
        assert_no_loss(result)
        assert closed == len(idle) + len(partial)
    finally:
        for s in idle + partial + slow_bodies:
            s.close()


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed the connection (EOF or reset), or answered
    and closed (a 408 after the header read timeout)."""
    sock.settimeout(0.2)
    try:
        data = sock.recv(1024)
    except TimeoutError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


# --- what the service relies on from its server ------------------------------


def test_json_logs_and_proxy_hops(server_factory: Start) -> None:
    """Every stdout line is JSON; the access log has the client address
    ProxyFix takes at the configured hop count (API Gateway + ALB = 2)."""
    server = server_factory(ACCESS_LOG="true", PROXY_FIX_X_FOR="2")
    spoofed = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.0.3.9"}
    assert get(server.port, "/api/videos/1", headers=spoofed).status == 200
    assert get(server.port, "/health").status == 200
    server.stop()
    entries = json_lines(server.log_lines())
    access = [e for e in entries if e.get("logger") == "catalog.access"]
    assert access[-1]["remote_addr"] == "203.0.113.7"
    assert access[-1]["path"] == "/api/videos/1"
    assert any(e.get("logger", "").startswith("_granian") for e in entries)


def test_crashed_worker_is_respawned(server_factory: Start) -> None:
    """A worker that dies is replaced (the image runs granian with respawn on)."""
    server = server_factory()
    assert server.proc is not None
    pid = server.proc.pid
    worker = int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
    os.kill(worker, signal.SIGKILL)
    started = time.monotonic()
    while time.monotonic() - started < 10:
        if get(server.port, "/api/health", timeout=1).status == 200:
            break
        time.sleep(0.1)
    else:
        pytest.fail("no worker answered within 10 s of the crash")
    respawned = time.monotonic() - started
    assert respawned < 5
