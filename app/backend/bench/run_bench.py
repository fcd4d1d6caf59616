#!/usr/bin/env python3
"""Throughput/latency benchmark of the Catalog API on one core.

* PostgreSQL (throwaway cluster, demo catalog) and wrk share core 1.
* gunicorn runs ONE worker process (gthread) pinned to core 0.
* wrk loads /api/videos and /api/videos/<id> (random ids) for --duration s each
  and we print req/s, p50 and p99.

Usage: python bench/run_bench.py [--duration 20] [--connections 8] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BACKEND))

from catalog import prepare_database  # noqa: E402
from catalog.config import Config  # noqa: E402
from catalog.db import Database  # noqa: E402
from devtools.local_pg import LocalPostgres, free_port  # noqa: E402

APP_CPU = "0"
LOAD_CPU = "1"


def parse_wrk(output: str) -> dict[str, float]:
    def ms(value: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s)", value)
        if not m:
            raise ValueError(value)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]
        return float(m[1]) * scale

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if not (rps and p50 and p99):
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    return {
        "rps": float(rps[1]),
        "p50_ms": ms(p50[1]),
        "p99_ms": ms(p99[1]),
        "non_2xx": float(non2xx[1]) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


def cpu0_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of cpu0 from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{APP_CPU} "):
            values = [int(v) for v in line.split()[1:]]
            idle = values[3] + values[4]  # idle + iowait
            return sum(values) - idle, sum(values)
    raise RuntimeError("cpu0 not found in /proc/stat")


def process_ticks(pid: int) -> int:
    """utime + stime of a process and its children (gunicorn master + worker)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def wrk(url: str, *, duration: int, connections: int, script: Path | None) -> dict[str, float]:
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    cmd += ["--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="gthread threads in the worker")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make bench does it)")

    pg = LocalPostgres()
    gunicorn: subprocess.Popen[bytes] | None = None
    try:
        pg.start()
        # Keep the database off the app's core.
        pid = (pg.datadir / "postmaster.pid").read_text().split()[0]
        subprocess.run(
            ["taskset", "-a", "-p", "-c", LOAD_CPU, pid], check=True, capture_output=True
        )
        env = {**os.environ, **pg.env(), "SEED_DEMO_DATA": "true", "LOG_LEVEL": "WARNING"}
        prepare_database(Database(Config.from_env(env)), seed=True)

        port = free_port()
        env.update(
            {
                "BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "1",
                "GUNICORN_THREADS": str(args.threads),
                "DB_POOL_MAX_SIZE": str(args.threads),
                "DB_POOL_MIN_SIZE": str(args.threads),
                "ACCESS_LOG": "false" if args.no_access_log else "true",
                "RUN_MIGRATIONS": "false",
                "PYTHONPATH": str(BACKEND),
            }
        )
        gunicorn = subprocess.Popen(
            [
                *("taskset", "-c", APP_CPU, sys.executable, "-m", "gunicorn"),
                *("-c", str(BACKEND / "gunicorn.conf.py"), "catalog.wsgi:app"),
            ],
            cwd=BACKEND,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/api/health")

        targets = {
            "list  /api/videos": (f"{base}/api/videos", None),
            "detail /api/videos/<id>": (base, BENCH_DIR / "detail.lua"),
        }
        results: dict[str, dict[str, float]] = {}
        for name, (url, script) in targets.items():
            wrk(url, duration=3, connections=args.connections, script=script)  # warm-up
            busy0, total0 = cpu0_ticks()
            app0 = process_ticks(gunicorn.pid)
            results[name] = wrk(
                url, duration=args.duration, connections=args.connections, script=script
            )
            busy1, total1 = cpu0_ticks()
            app1 = process_ticks(gunicorn.pid)
            span = max(total1 - total0, 1)
            # How much of core 0 the API got, and how much other processes
            # on this machine took from it (a shared machine inflates p99).
            results[name]["app_cpu0_share"] = round((app1 - app0) / span, 3)
            results[name]["other_cpu0_share"] = round(
                max((busy1 - busy0) - (app1 - app0), 0) / span, 3
            )

        print(
            f"\n1 gunicorn worker x {args.threads} threads on cpu {APP_CPU}; "
            f"wrk -c{args.connections} {args.duration}s on cpu {LOAD_CPU} (PostgreSQL there too); "
            f"access log {'off' if args.no_access_log else 'on'}"
        )
        print(
            f"{'endpoint':26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
            f" {'api cpu0':>9} {'other cpu0':>10}"
        )
        for name, r in results.items():
            print(
                f"{name:26} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{r['non_2xx']:8.0f} {r['app_cpu0_share']:9.0%} {r['other_cpu0_share']:10.0%}"
            )
        out_dir = BENCH_DIR / "results"
        out_dir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        (out_dir / f"bench-{stamp}.json").write_text(
            json.dumps({"args": vars(args), "results": results}, indent=2)
        )
        target = results["list  /api/videos"]
        ok = target["rps"] >= 1000 and target["p99_ms"] <= 25
        print(f"target (list >= 1000 req/s, p99 <= 25 ms): {'met' if ok else 'NOT met'}")
        return 0
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        pg.cleanup()


BENCH_DIR = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.exit(main())
