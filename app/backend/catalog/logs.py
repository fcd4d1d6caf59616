"""JSON log lines on stdout (one object per line, for CloudWatch Logs)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask, Response, request

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; ``extra=`` fields become keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str) -> None:
    """Route the root logger to stdout as JSON (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    # psycopg_pool logs every reconnect attempt at INFO.
    logging.getLogger("psycopg.pool").setLevel(max(logging.WARNING, root.level))


def lean_records() -> None:
    """Skip what :class:`JsonFormatter` never prints when a record is made.

    The caller's frame (found by walking the stack), thread, process and
    multiprocessing names: the optimisations the logging HOWTO documents
    ("Optimization"). Process-wide, so the server entry point calls it;
    tests and scripts keep full records for their own log output.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


access_log = logging.getLogger("catalog.access")

# WSGI environ key holding the request's start (time.perf_counter()).
_STARTED = "catalog.started"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Timer:
    """WSGI middleware: stamps the request's start into its environ."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        environ[_STARTED] = time.perf_counter()
        return self.app(environ, start_response)


def _log_request(response: Response) -> Response:
    if not access_log.isEnabledFor(logging.INFO):
        return response
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    started = environ.get(_STARTED)
    access_log.info(
        "request",
        extra={
            "method": req.method,
            "path": req.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "remote_addr": req.remote_addr,
            # What request.headers.get("X-Amzn-Trace-Id") reads, without
            # the KeyError werkzeug raises and catches when it is absent.
            "trace_id": environ.get("HTTP_X_AMZN_TRACE_ID"),
        },
    )
    return response


def init_app(app: Flask, *, access: bool) -> None:
    if access:
        app.wsgi_app = _Timer(app.wsgi_app)  # type: ignore[method-assign]
        app.after_request(_log_request)
