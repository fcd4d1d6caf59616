#!/usr/bin/env python3
"""Per-request cost of ``GET /api/videos``: the catalog app against the floor.

Calls both WSGI apps directly (no HTTP server, no sockets to the client), one
request at a time, against a throwaway PostgreSQL with the demo catalog, so
what differs between the two is the app's own per-request Python work. The
two are timed alternately in several rounds (medians), then the catalog app
runs once more under a profiler.

* ``--profiler pyinstrument`` (default): a call tree of where the time goes.
* ``--profiler cprofile``: the functions with the most own time.

Access log on, ``LOG_LEVEL=INFO`` (the shipped defaults); log lines go to
/dev/null (both the logging handlers and the access log's stdout).

Usage: python bench/profile_list.py [--requests 3000] [--rounds 5] [--profiler pyinstrument]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BACKEND = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BACKEND))

from devtools.local_pg import LocalPostgres  # noqa: E402
from devtools.signing_key import dev_media_env  # noqa: E402

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ() -> dict[str, Any]:
    """What a WSGI server hands the app for one request behind the ALB."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/api/videos",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.1.23",
        "HTTP_HOST": "api.example.com",
        "HTTP_ACCEPT": "application/json",
        "HTTP_USER_AGENT": "Amazon CloudFront",
        "HTTP_X_FORWARDED_FOR": "203.0.113.7",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(app: WsgiApp) -> bytes:
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        status.append(s)

    body = b"".join(app(environ(), start_response))
    if not status[0].startswith("200"):
        raise RuntimeError(f"{status[0]}: {body[:200]!r}")
    return body


def per_request_us(app: WsgiApp, n: int) -> float:
    """CPU time of this process per request (the database's is not in it)."""
    started = time.process_time()
    for _ in range(n):
        call(app)
    return (time.process_time() - started) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000, help="requests per timing")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profiler", choices=("pyinstrument", "cprofile"), default="pyinstrument")
    parser.add_argument("--top", type=int, default=25, help="cProfile rows")
    parser.add_argument("--no-access-log", action="store_true", help="ACCESS_LOG=false")
    args = parser.parse_args()

    pg = LocalPostgres()
    key_dir = Path(tempfile.mkdtemp(prefix="catalog-profile-key-"))
    devnull = open(os.devnull, "w")  # noqa: SIM115
    try:
        pg.start()
        os.environ.update(
            {
                **pg.env(),
                "SEED_DEMO_DATA": "true",
                "LOG_LEVEL": "INFO",
                "ACCESS_LOG": "false" if args.no_access_log else "true",
                "DB_POOL_MIN_SIZE": "4",
                "DB_POOL_MAX_SIZE": "4",
                **dev_media_env(key_dir),
            }
        )
        from bench.floor import app as floor_app  # reads the DB_* variables
        from catalog import create_app, logs

        logs.lean_records()  # as catalog/wsgi.py, the servers' entry point
        catalog_app = create_app()
        import logging

        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
        assert call(catalog_app) == call(floor_app), "the floor must answer the same body"
        apps: dict[str, WsgiApp] = {"floor": floor_app, "catalog": catalog_app}
        times: dict[str, list[float]] = {name: [] for name in apps}
        # The access-log line goes to sys.stdout (catalog.logs.AccessLog): /dev/null here.
        with contextlib.redirect_stdout(devnull):
            for app in apps.values():
                per_request_us(app, 300)  # warm-up
            for _ in range(args.rounds):
                for name, app in apps.items():
                    times[name].append(per_request_us(app, args.requests))
        med = {name: statistics.median(t) for name, t in times.items()}
        print(
            f"\nGET /api/videos, direct WSGI calls, {args.rounds} alternating rounds x "
            f"{args.requests} requests, medians of the app process's CPU time per request"
        )
        for name, t in times.items():
            rounds = " ".join(f"{x:.0f}" for x in t)
            print(f"{name:8} {med[name]:8.0f} us CPU/request   rounds: {rounds}")
        print(
            f"catalog - floor: {med['catalog'] - med['floor']:.0f} us/request; "
            f"floor/catalog {med['floor'] / med['catalog']:.2f}"
        )

        n = args.requests
        if args.profiler == "pyinstrument":
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            profiler.start()
            with contextlib.redirect_stdout(devnull):
                for _ in range(n):
                    call(catalog_app)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        else:
            prof = cProfile.Profile()
            prof.enable()
            with contextlib.redirect_stdout(devnull):
                for _ in range(n):
                    call(catalog_app)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
        return 0
    finally:
        devnull.close()
        pg.cleanup()


if __name__ == "__main__":
    sys.exit(main())
