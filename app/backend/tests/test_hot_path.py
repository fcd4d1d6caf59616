"""What the list endpoint's fast path must keep: the access-log line, the
security and cache headers on every response, and the timestamp format."""

from __future__ import annotations

import io
import logging
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix

from catalog import create_app, logs
from catalog.api import _iso
from catalog.http import CorsPolicy, Envelope, TrustedHops
from devtools.local_pg import LocalPostgres
from tests.conftest import make_config

CACHEABLE = "public, max-age=30, stale-while-revalidate=60"


@pytest.fixture
def logged_app(
    app: Flask, pg: LocalPostgres, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Flask, Callable[[], list[dict[str, Any]]]]]:
    """An app with the access log on at INFO, and a reader of its lines on stdout."""
    root = logging.getLogger()
    level = root.level
    application = create_app(
        make_config(pg, ACCESS_LOG="true", LOG_LEVEL="INFO", RUN_MIGRATIONS="false")
    )
    capsys.readouterr()

    def access_lines() -> list[dict[str, Any]]:
        lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
        return [line for line in lines if line.get("logger") == "catalog.access"]

    try:
        yield application, access_lines
    finally:
        root.setLevel(level)
        application.extensions["catalog_db"].close()


AccessLines = tuple[Flask, Callable[[], list[dict[str, Any]]]]


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]


def test_access_log_line_has_every_field(logged_app: AccessLines) -> None:
    app, access_lines = logged_app
    client = app.test_client()
    client.get(
        "/api/videos?limit=2",
        headers={
            "X-Forwarded-For": "6.6.6.6, 203.0.113.7",
            "X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678",
        },
    )
    client.get("/api/videos/999999")
    first, second = access_lines()
    assert first["level"] == "INFO"
    assert first["message"] == "request"
    assert list(first) == [
        *("ts", "level", "logger", "message", "method", "path"),
        *("status", "duration_ms", "remote_addr", "trace_id"),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["ts"])
    assert (first["method"], first["path"], first["status"]) == ("GET", "/api/videos", 200)
    # ProxyFix trusts one hop: the address the ALB appended, not the spoofed one.
    assert first["remote_addr"] == "203.0.113.7"
    assert first["trace_id"] == "Root=1-67891233-abcdef012345678912345678"
    assert isinstance(first["duration_ms"], float)
    assert 0 < first["duration_ms"] < 5000
    assert (second["path"], second["status"], second["trace_id"]) == (
        "/api/videos/999999",
        404,
        None,
    )


def test_access_log_respects_the_level(logged_app: AccessLines) -> None:
    app, access_lines = logged_app
    logging.getLogger().setLevel(logging.WARNING)
    app.test_client().get("/api/videos?limit=1")
    assert access_lines() == []


def test_lean_records_keep_the_json_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process-wide logging switches change nothing JsonFormatter prints."""
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, getattr(logging, name))
    logger = logging.getLogger("catalog.test_lean")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("before", extra={"pool": "reader"})
        logs.lean_records()
        logger.warning("after", extra={"pool": "reader"})
    finally:
        logger.removeHandler(handler)
    before, after = _lines(buffer)
    assert logging._srcfile is None
    assert set(before) == set(after) == {"ts", "level", "logger", "message", "pool"}


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/api/videos", "GET", {}),
        ("/api/videos/999999", "GET", {}),
        ("/api/videos?limit=0", "GET", {}),
        ("/api/nope", "GET", {}),
        ("/api/videos", "DELETE", {}),
        ("/api/videos", "OPTIONS", {"Access-Control-Request-Method": "GET"}),
        ("/health", "GET", {}),
    ],
)
def test_every_response_is_nosniff_once(
    client: FlaskClient, path: str, method: str, headers: dict[str, str]
) -> None:
    resp = client.open(path, method=method, headers=headers)
    assert resp.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert len(resp.headers.getlist("Cache-Control")) == 1
    assert resp.headers["Content-Type"] == "application/json" or resp.status_code == 204


def test_list_is_cacheable_with_the_configured_ages(client: FlaskClient) -> None:
    resp = client.get("/api/videos")
    assert resp.headers.getlist("Cache-Control") == [CACHEABLE]
    assert resp.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "ts",
    [
        datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 0, 0, 999_999, tzinfo=UTC),
        datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, 15, 500_000, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2024, 1, 1, 0, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    ],
)
def test_timestamps_are_utc_whole_seconds(ts: datetime) -> None:
    assert _iso(ts) == ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log_ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


@pytest.mark.parametrize(
    "seconds",
    [
        0.0,
        1_764_246_000.0,
        1_764_246_000.0005,  # half a millisecond: cut, not rounded
        1_764_246_000.9994999,
        1_764_246_000.9999995,  # rounds up to the next second
        1_764_246_000.9999994,
        -0.0000004,  # before 1970: modf keeps the sign
        -0.0000005,
        -1.5,
        -2_208_988_800.25,  # 1900
        253_402_300_799.999,  # 9999-12-31T23:59:59.999
    ],
)
def test_log_timestamps_are_the_isoformat_text(seconds: float) -> None:
    assert logs.timestamp(seconds) == _log_ts(seconds)


def test_log_timestamps_cached_per_second_match_isoformat_in_any_order() -> None:
    """The per-second cache never hands one second's text to another: random
    instants, and runs inside one second and across its boundaries."""
    rng = random.Random(7)
    instants = [rng.uniform(-2e9, 4e9) for _ in range(20_000)]
    start = 1_764_246_000
    steps = (0, 0.0004999, 0.0009999)
    instants += [start + i / 1000 + d for i in range(-1500, 1500) for d in steps]
    assert [logs.timestamp(s) for s in instants] == [_log_ts(s) for s in instants]


# --- the WSGI envelope and the hop parser --------------------------------------


def _envelope_call(
    headers: list[tuple[str, str]], origin: str | None
) -> tuple[str, list[tuple[str, str]]]:
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", list(headers))
        return [b"{}"]

    def start_response(status: str, out: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, out

    envelope = Envelope(inner, cors=CorsPolicy(["https://app.example"]), access=False)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}
    if origin:
        environ["HTTP_ORIGIN"] = origin
    assert list(envelope(environ, start_response)) == [b"{}"]
    return seen["status"], seen["headers"]


def test_envelope_merges_vary_and_keeps_cache_control() -> None:
    _, headers = _envelope_call(
        [("Cache-Control", "public, max-age=30"), ("Vary", "Accept-Encoding")],
        "https://app.example",
    )
    assert headers.count(("Vary", "Accept-Encoding, Origin")) == 1
    assert [v for k, v in headers if k == "Cache-Control"] == ["public, max-age=30"]
    assert [v for k, v in headers if k == "Access-Control-Allow-Origin"] == ["https://app.example"]
    assert [v for k, v in headers if k == "X-Content-Type-Options"] == ["nosniff"]


def test_envelope_adds_no_second_origin_to_vary() -> None:
    _, headers = _envelope_call([("vary", "origin")], None)
    assert [v for k, v in headers if k.lower() == "vary"] == ["origin"]
    assert ("Cache-Control", "no-store") in headers


def _hop_values() -> list[str]:
    fixed = [
        "203.0.113.7",
        "6.6.6.6, 203.0.113.7",
        " 6.6.6.6 ,\t203.0.113.7 , ",
        "a,,b",
        ",",
        " ",
        '"quoted, one", 10.0.0.1',
        "a\\,b, c",
        '"unclosed, 1.2.3.4',
        "https",
        "http, https",
    ]
    rng = random.Random(20261127)
    alphabet = ["1", "2", ".", ":", "a", ",", ",", " ", "\t", '"', "\\", "f"]
    fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16))) for _ in range(3000)]
    return fixed + fuzz


def test_trusted_hops_parse_like_werkzeug() -> None:
    """The fast path picks the same hop as werkzeug's ProxyFix for any value."""
    ours = TrustedHops(lambda e, s: [], x_for=1)
    theirs = ProxyFix(lambda e, s: [], x_for=1)
    for value in _hop_values():
        for trusted in (1, 2, 3):
            assert ours._get_real_value(trusted, value) == theirs._get_real_value(trusted, value), (
                value,
                trusted,
            )
