"""granian settings for the Catalog API container: ``python serve.py``.

Every value can be overridden by an environment variable, so ECS task sizes,
the benchmark and the fault-injection suite tune them without a new image.
The budgets fit together (docs: README "Timeouts"):

* liveness ``/health`` is a static file answered by granian's Rust runtime:
  it never waits on a Python thread, the GIL or the database;
* connections are read by granian's async runtime: a slow or idle client
  costs a few KB, never a Python thread. Request headers must arrive within
  ``HEADER_READ_TIMEOUT_MS``, which is also how long an idle keep-alive
  connection stays open; it exceeds the ALB idle timeout (lib/load_balancer.py),
  so the ALB always closes first and never sends on a closing connection;
* at most ``BACKPRESSURE`` connections per worker are served at once; more
  wait in the listen backlog (``BACKLOG``);
* on SIGTERM granian stops accepting, answers in-flight requests with
  ``Connection: close`` and exits; workers that do not finish within
  ``GRACEFUL_TIMEOUT`` (below ECS's 30 s stop timeout) are killed.
"""

from __future__ import annotations

import os
from pathlib import Path

from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server

HERE = Path(__file__).resolve().parent
LIVENESS_DIR = HERE / "catalog" / "liveness"
LIVENESS_PATH = "/health"
# Header read timeout and idle keep-alive (granian uses one setting for both).
KEEPALIVE_MS = 35_000
# SIGTERM to exit: in-flight requests finish (the slowest is bounded by the
# database budgets, about 6 s); below ECS's 30 s stop timeout (lib/services.py).
GRACEFUL_TIMEOUT_S = 20


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _bind() -> tuple[str, int]:
    host, _, port = os.environ.get("BIND", "0.0.0.0:8000").rpartition(":")
    return host, int(port)


def log_config(
    level: str, *, server: str = "_granian", server_access: str = "granian.access"
) -> dict[str, object]:
    """The server's own log lines (logger ``server``) as JSON on stdout, like
    the app's; its access log (``server_access``) off: the app writes one line
    per request. The benchmark's gunicorn config uses it with gunicorn's loggers."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "catalog.logs.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            server: {"handlers": ["stdout"], "level": level, "propagate": False},
            server_access: {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def settings() -> dict[str, object]:
    """Keyword arguments for ``granian.server.Server``."""
    host, port = _bind()
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    lifetime = _int("WORKERS_LIFETIME", 0)
    return {
        "target": os.environ.get("WSGI_APP", "catalog.wsgi:app"),
        "address": host,
        "port": port,
        "interface": Interfaces.WSGI,
        # The ALB speaks HTTP/1.1 to its targets.
        "http": HTTPModes.http1,
        "websockets": False,
        "workers": _int("WEB_CONCURRENCY", 2),
        "blocking_threads": _int("WSGI_THREADS", 8),
        "runtime_threads": _int("RUNTIME_THREADS", 1),
        "runtime_mode": RuntimeModes.st,
        "loop": Loops.asyncio,
        "backlog": _int("BACKLOG", 4096),
        "backpressure": _int("BACKPRESSURE", 4096),
        "http1_settings": HTTP1Settings(
            header_read_timeout=_int("HEADER_READ_TIMEOUT_MS", KEEPALIVE_MS),
            keep_alive=True,
            # Request line and headers beyond 64 KiB get a 431 (the ALB's own limit is 64 KiB).
            max_buffer_size=64 * 1024,
        ),
        "log_level": LogLevels(level.lower()),
        "log_dictconfig": log_config(level),
        # The app logs each request as JSON (catalog.logs); no second access log.
        "log_access": False,
        "respawn_failed_workers": True,
        "respawn_interval": 1.0,
        # Worker recycling: restart each worker after this many seconds (>= 60).
        "workers_lifetime": lifetime or None,
        "workers_kill_timeout": _int("GRACEFUL_TIMEOUT", GRACEFUL_TIMEOUT_S),
        "static_path_route": [LIVENESS_PATH],
        "static_path_mount": [LIVENESS_DIR],
        "static_path_dir_to_file": "health.json",
        "static_path_expires": 0,
    }


def main() -> None:
    Server(**settings()).serve()  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
