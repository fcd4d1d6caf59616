"""JSON log lines on stdout (one object per line, for CloudWatch Logs)."""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from datetime import UTC, datetime

import orjson

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; ``extra=`` fields become keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": timestamp(record.created),
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


# (whole second, its "YYYY-MM-DDTHH:MM:SS" text): most lines fall in the second of the last one.
_second: tuple[int, str] = (0, datetime.fromtimestamp(0, UTC).isoformat()[:19])


def timestamp(seconds: float) -> str:
    """``2024-05-01T12:00:00.123+00:00``: the ``ts`` of every log line.

    The text ``datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")``
    gives (microseconds rounded half-even, then cut to milliseconds), with the
    date and time of day formatted once per second instead of on every line.
    """
    global _second
    frac, whole = math.modf(seconds)
    micros = round(frac * 1_000_000)
    second = int(whole)
    if micros < 0:  # before 1970: modf keeps the sign
        micros += 1_000_000
        second -= 1
    elif micros >= 1_000_000:
        micros -= 1_000_000
        second += 1
    cached = _second
    if cached[0] != second:
        cached = _second = (second, datetime.fromtimestamp(second, UTC).isoformat()[:19])
    return f"{cached[1]}.{micros // 1000:03d}+00:00"


class AccessLog:
    """Writes one JSON line per request: the object :class:`JsonFormatter`
    prints for a ``catalog.access`` record with these fields as ``extra``.

    Without a ``LogRecord``, a formatter pass and the handler chain: the line
    is built from a dict with orjson, written and flushed in one call (about
    4 µs instead of 13 µs per request). The logger's level still decides,
    so ``LOG_LEVEL=WARNING`` silences it; the line goes to ``sys.stdout`` as
    it is at the time (where the handler of :func:`configure_logging`
    writes), under a lock so lines from concurrent requests never interleave.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def write(
        self,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        remote_addr: str | None,
        trace_id: str | None,
    ) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        line = orjson.dumps(
            {
                "ts": timestamp(time.time()),
                "level": "INFO",
                "logger": "catalog.access",
                "message": "request",
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "remote_addr": remote_addr,
                "trace_id": trace_id,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        ).decode()
        stream = sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()
