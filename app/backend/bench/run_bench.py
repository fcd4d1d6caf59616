#!/usr/bin/env python3
"""Throughput/latency of the Catalog API against its floor, under two servers, on one core.

* PostgreSQL (throwaway cluster, demo catalog) and wrk share core 1.
* Four servers, one worker each, pinned to core 0, started side by side: the
  floor (bench/floor.py: the same SQL and JSON in bare Flask) and the catalog
  API, each under gunicorn gthread (bench/gunicorn.conf.py) and granian (serve.py).
* After a warm-up they are measured in turn, --rounds times, with wrk on
  /api/videos; prints median req/s, p50 and p99 per server, and the ratios.
* ``--baseline REF`` adds the catalog API of git revision REF (extracted with
  ``git archive``) as REF shipped it: under the server its Dockerfile's ``CMD``
  starts (granian through ``serve.py``, or gunicorn with REF's own
  ``gunicorn.conf.py``), measured in the same alternation, and prints this
  tree's catalog against it: a before/after comparison in one run.
  ``make bench`` passes ``--baseline`` the revision the performance goals were
  set against (``BENCH_BASELINE`` in the Makefile), so its gunicorn figure is
  measured in every run.
* Besides req/s, each measurement records the share of core 0 the server got
  and the core-0 time it spent per request; the ratios are also printed on
  that basis ("per cpu"), which other processes sharing the core do not skew.
* The servers run with the shipped logging (``LOG_LEVEL=INFO``, one JSON
  access-log line per request, to /dev/null) unless --no-access-log.

Usage: python bench/run_bench.py [--duration 10] [--rounds 3] [--connections 8] [--threads 4]
                                 [--baseline REF] [--no-access-log]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
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
from devtools.signing_key import dev_media_env  # noqa: E402

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


# (name, server, WSGI target). Same SQL and JSON in every one; see bench/floor.py.
SERVERS = (
    ("floor   gunicorn", "gunicorn", "bench.floor:app"),
    ("catalog gunicorn", "gunicorn", "catalog.wsgi:app"),
    ("floor   granian", "granian", "bench.floor:app"),
    ("catalog granian", "granian", "catalog.wsgi:app"),
)


def server_command(server: str, target: str) -> list[str]:
    pinned = ["taskset", "-c", APP_CPU, sys.executable]
    if server == "gunicorn":
        return [*pinned, "-m", "gunicorn", "-c", str(BENCH_DIR / "gunicorn.conf.py"), target]
    return [*pinned, str(BACKEND / "serve.py")]


def shipped_server(backend: Path) -> tuple[str, list[str]]:
    """(server, command) that the image of ``backend`` runs: its Dockerfile's last ``CMD``."""
    cmds = re.findall(r"^CMD\s+(\[.*\])\s*$", (backend / "Dockerfile").read_text(), re.M)
    if not cmds:
        raise ValueError(f"{backend / 'Dockerfile'}: no exec-form CMD")
    argv: list[str] = json.loads(cmds[-1])
    pinned = ["taskset", "-c", APP_CPU, sys.executable]
    if argv[0] == "gunicorn" and "--config" in argv:
        conf = backend / Path(argv[argv.index("--config") + 1]).name
        return "gunicorn", [*pinned, "-m", "gunicorn", "-c", str(conf), argv[-1]]
    if argv[0] == "python" and argv[-1].endswith("serve.py"):
        return "granian", [*pinned, str(backend / "serve.py")]
    raise ValueError(f"{backend / 'Dockerfile'}: unknown server in CMD {argv}")


class BaselineError(ValueError):
    """The baseline revision cannot be had from this clone."""


def extract_backend(ref: str, into: Path) -> Path:
    """app/backend as of git revision ``ref``, unpacked under ``into``."""
    top = Path(
        subprocess.run(
            ["git", "-C", str(BACKEND), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    rel = BACKEND.relative_to(top).as_posix()
    known = subprocess.run(
        ["git", "-C", str(top), "cat-file", "-e", f"{ref}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if known.returncode != 0:
        raise BaselineError(
            f"--baseline {ref}: no such commit in this clone "
            "(a shallow clone? `git fetch --unshallow`); "
            "BENCH_BASELINE=<ref> (make bench) names another revision"
        )
    archive = into / "baseline.tar"
    subprocess.run(
        ["git", "-C", str(top), "archive", "--output", str(archive), ref, rel],
        check=True,
        capture_output=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / rel


# Where a granian worker's samples go: the first matching frame of each stack,
# innermost first. Labels are printed in this order.
PROFILE_BUCKETS = (
    ("JSON access log (catalog.logs, logging)", ("catalog/logs.py", "logging/__init__.py")),
    ("psycopg: query round trip and rows", ("psycopg/",)),
    ("pool checkout/return", ("psycopg_pool/",)),
    (
        "breaker, watchdog, stale check (catalog.db/breaker)",
        ("catalog/db.py", "catalog/breaker.py"),
    ),
    ("rows to JSON (video_json, orjson)", ("video_json", "_iso", "encode_cursor", "orjson")),
    ("query parameters, view body", ("catalog/api.py", "bench/floor.py")),
    ("ProxyFix (hop parsing)", ("proxy_fix.py", "_get_real_value")),
    ("headers, CORS, Cache-Control (catalog.http)", ("catalog/http.py",)),
    ("Flask and werkzeug (routing, contexts, Response)", ("flask/", "werkzeug/")),
)


def bucket_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for label, needles in PROFILE_BUCKETS:
            if any(n in frame for n in needles):
                return label
    return "granian glue and other"


def profile_granian(
    procs: dict[str, subprocess.Popen[bytes]],
    urls: dict[str, str],
    args: argparse.Namespace,
    out: Path,
) -> None:
    """Sample each granian server with py-spy under the same wrk load (not measured)."""
    out.mkdir()
    py_spy = Path(sys.executable).with_name("py-spy")
    print(
        f"\npy-spy, {args.duration} s under wrk -c{args.connections} per server; share of samples"
    )
    shares: dict[str, dict[str, float]] = {}
    for name, url in urls.items():
        if "granian" not in name:
            continue
        raw = out / (name.replace(" ", "_").replace("@", "") + ".txt")
        cmd = [
            *(str(py_spy), "record", "--subprocesses", "--gil", "--rate", "250"),
            *("--format", "raw", "-o", str(raw), "-d", str(args.duration)),
            *("--pid", str(procs[name].pid)),
        ]
        spy = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wrk(url, duration=args.duration, connections=args.connections, script=None)
        spy.wait(timeout=args.duration + 30)
        counts: dict[str, int] = {}
        for line in raw.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            # Samples of the thread holding the GIL (--gil) in request work: CPU time.
            if "__call__" not in stack and "wsgi_app" not in stack:
                continue
            counts[bucket_of(stack)] = counts.get(bucket_of(stack), 0) + int(n)
        total = sum(counts.values()) or 1
        shares[name] = {label: n / total for label, n in counts.items()}
        shares[name]["samples"] = total
    labels = [label for label, _ in PROFILE_BUCKETS] + ["granian glue and other"]
    names = list(shares)
    print(f"{'':52}" + "".join(f"{n:>24}" for n in names))
    for label in labels:
        print(f"{label:52}" + "".join(f"{shares[n].get(label, 0):24.1%}" for n in names))
    print(
        f"{'samples in request code':52}" + "".join(f"{shares[n]['samples']:24.0f}" for n in names)
    )
    print(f"raw stacks: {out}")


FLOOR_GOAL = 0.9
SERVER_GOAL = 1.6


def goal_lines(ratios: dict[str, float], baseline: str) -> list[str]:
    """The goals, by req/s and by core-0 time: catalog >= 0.9x the floor on the shipped server;
    >= 1.6x the gunicorn figure, against the service as shipped at the baseline when that ran
    gunicorn, and against this tree's catalog under gunicorn (the server alone)."""
    lines = []
    for basis, prefix in (("req/s", ""), ("per cpu", "per cpu: ")):
        floor = ratios[f"{prefix}catalog/floor on granian"]
        lines.append(
            f"goal by {basis}: catalog >= {FLOOR_GOAL}x floor on granian: "
            f"{floor:.2f}x " + ("met" if floor >= FLOOR_GOAL else "NOT met")
        )
        against = [f"{prefix}catalog granian/gunicorn"]
        if "gunicorn" in baseline:
            against.insert(0, f"{prefix}catalog granian / {baseline}")
        for key in against:
            value = ratios[key]
            lines.append(
                f"goal by {basis}: {key.removeprefix(prefix)} >= {SERVER_GOAL}x: "
                f"{value:.2f}x " + ("met" if value >= SERVER_GOAL else "NOT met")
            )
    return lines


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4, help="WSGI threads in the one worker")
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure the catalog API of this git revision under the server it shipped with",
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="afterwards, sample each granian server with py-spy and print where its time goes",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make bench does it)")

    pg = LocalPostgres()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="catalog-bench-"))
    try:
        servers = [
            (name, server_command(server, target), target, BACKEND)
            for name, server, target in SERVERS
        ]
        baseline = ""
        if args.baseline:
            try:
                old = extract_backend(args.baseline, scratch)
            except BaselineError as error:
                sys.exit(str(error))
            old_server, old_command = shipped_server(old)
            baseline = f"catalog {old_server} @{args.baseline}"
            servers.append((baseline, old_command, "catalog.wsgi:app", old))
        pg.start()
        # Keep the database off the app's core.
        pid = (pg.datadir / "postmaster.pid").read_text().split()[0]
        subprocess.run(
            ["taskset", "-a", "-p", "-c", LOAD_CPU, pid], check=True, capture_output=True
        )
        env = {
            **os.environ,
            **pg.env(),
            **dev_media_env(pg.root),
            "SEED_DEMO_DATA": "true",
            # The shipped level: INFO writes one JSON access-log line per request.
            "LOG_LEVEL": "WARNING" if args.no_access_log else "INFO",
        }
        prepare_database(Database(Config.from_env(env)), seed=True)

        urls: dict[str, str] = {}
        for name, command, target, backend in servers:
            port = free_port()
            server_env = {
                **env,
                "BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "1",
                "GUNICORN_THREADS": str(args.threads),
                "WSGI_THREADS": str(args.threads),
                "WSGI_APP": target,
                "DB_POOL_MAX_SIZE": str(args.threads),
                "DB_POOL_MIN_SIZE": str(args.threads),
                "ACCESS_LOG": "false" if args.no_access_log else "true",
                "RUN_MIGRATIONS": "false",
                "PYTHONPATH": str(backend),
            }
            procs[name] = subprocess.Popen(
                command,
                cwd=backend,
                env=server_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            urls[name] = f"http://127.0.0.1:{port}/api/videos"
        for url in urls.values():
            wait_ready(url)

        runs: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
        for url in urls.values():  # warm-up (prepared statements, pools)
            wrk(url, duration=2, connections=args.connections, script=None)
        for _ in range(args.rounds):
            for name, url in urls.items():
                busy0, total0 = cpu0_ticks()
                app0 = process_ticks(procs[name].pid)
                result = wrk(url, duration=args.duration, connections=args.connections, script=None)
                busy1, total1 = cpu0_ticks()
                app1 = process_ticks(procs[name].pid)
                span = max(total1 - total0, 1)
                # How much of core 0 the server got, and how much other
                # processes on this machine took from it.
                result["app_cpu0_share"] = round((app1 - app0) / span, 3)
                result["other_cpu0_share"] = round(
                    max((busy1 - busy0) - (app1 - app0), 0) / span, 3
                )
                # Core 0 time the server spent per request: what other
                # processes took from the core does not count against it.
                result["cpu0_us_per_request"] = round(
                    result["app_cpu0_share"] * 1e6 / max(result["rps"], 1.0), 1
                )
                runs[name].append(result)

        summary = {
            name: {key: median([r[key] for r in rs]) for key in rs[0]} for name, rs in runs.items()
        }
        print(
            f"\nGET /api/videos (20 items); one worker x {args.threads} threads on cpu {APP_CPU}; "
            f"wrk -c{args.connections} on cpu {LOAD_CPU} with PostgreSQL; "
            f"{args.rounds} alternating rounds x {args.duration} s, medians; "
            f"access log {'off' if args.no_access_log else 'on'}"
        )
        print(
            f"{'server':22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
            f" {'app cpu0':>9} {'other cpu0':>10} {'us cpu0/req':>11}   req/s per round"
        )
        for name, r in summary.items():
            rounds = " ".join(f"{x['rps']:.0f}" for x in runs[name])
            print(
                f"{name:22} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{r['non_2xx']:8.0f} {r['app_cpu0_share']:9.0%} {r['other_cpu0_share']:10.0%}"
                f" {r['cpu0_us_per_request']:11.0f}   {rounds}"
            )
        rps = {name: r["rps"] for name, r in summary.items()}
        if any(r["non_2xx"] or r["socket_errors"] for rs in runs.values() for r in rs):
            print("WARNING: non-2xx responses or socket errors; the figures are not comparable")
        ratios = {
            "catalog/floor on gunicorn": rps["catalog gunicorn"] / rps["floor   gunicorn"],
            "catalog/floor on granian": rps["catalog granian"] / rps["floor   granian"],
            "catalog granian/gunicorn": rps["catalog granian"] / rps["catalog gunicorn"],
            "p99 catalog granian/gunicorn": summary["catalog granian"]["p99_ms"]
            / summary["catalog gunicorn"]["p99_ms"],
        }
        if baseline:
            ratios[f"catalog granian / {baseline}"] = rps["catalog granian"] / rps[baseline]
        # The same ratios from core-0 time per request (requests per second
        # of the server's own CPU): steadier when other work shares the core.
        cpu = {name: r["cpu0_us_per_request"] for name, r in summary.items()}
        ratios["per cpu: catalog/floor on granian"] = (
            cpu["floor   granian"] / cpu["catalog granian"]
        )
        ratios["per cpu: catalog granian/gunicorn"] = (
            cpu["catalog gunicorn"] / cpu["catalog granian"]
        )
        if baseline:
            ratios[f"per cpu: catalog granian / {baseline}"] = (
                cpu[baseline] / cpu["catalog granian"]
            )
        for label, value in ratios.items():
            print(f"{label:48} {value:5.2f}x")
        goals = goal_lines(ratios, baseline)
        for line in goals:
            print(line)
        busiest = max(r["other_cpu0_share"] for r in summary.values())
        if busiest > 0.1:
            print(
                f"NOTE: other processes took up to {busiest:.0%} of core 0; "
                "compare the per-cpu ratios, and rerun on a quieter machine"
            )
        out_dir = BENCH_DIR / "results"
        out_dir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        if args.py_spy:
            profile_granian(procs, urls, args, out_dir / f"py-spy-{stamp}")
        (out_dir / f"bench-{stamp}.json").write_text(
            json.dumps(
                {"args": vars(args), "runs": runs, "ratios": ratios, "goals": goals}, indent=2
            )
        )
        return 0
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)


BENCH_DIR = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.exit(main())
