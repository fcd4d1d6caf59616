"""Fault-injection harness: the real server process, a real PostgreSQL, concurrent clients.

* :class:`ApiServer` runs ``serve.py`` (granian, as in the image) with one
  worker, its JSON stdout in a file.
* :class:`Load` keeps N clients busy on keep-alive connections (catalog reads
  and view counts) and records every request; :class:`Prober` polls the
  liveness path on a new connection every few milliseconds, as the ECS and
  ALB health checks do.
* :func:`measure` turns the records of one fault into the figures the suite
  asserts and prints.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.local_pg import LocalPostgres, free_port
from tests.conftest import KEY_PAIR_ID, SIGNING_KEY_FILE

BACKEND = Path(__file__).resolve().parents[2]
# The one worker under test, sized as in the image: more WSGI threads than
# connections per pool, so requests beyond a hung pool see its timeout.
THREADS = 16
# The service refuses to start without its media signing key: the test session's.
MEDIA_SIGNING_ENV = {
    "MEDIA_SIGNING_KEY_FILE": str(SIGNING_KEY_FILE),
    "MEDIA_KEY_PAIR_ID": KEY_PAIR_ID,
}
POOL_SIZE = 8


@dataclass
class Sample:
    kind: str
    start: float
    end: float
    status: int | None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def latency(self) -> float:
        return self.end - self.start


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class ApiServer:
    def __init__(self, pg: LocalPostgres, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            **os.environ,
            **pg.env(),
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "1",
            "WSGI_THREADS": str(THREADS),
            "DB_POOL_MIN_SIZE": "2",
            "DB_POOL_MAX_SIZE": str(POOL_SIZE),
            "RUN_MIGRATIONS": "false",
            "LOG_LEVEL": "INFO",
            "ACCESS_LOG": "false",
            "PYTHONPATH": str(BACKEND),
            **MEDIA_SIGNING_ENV,
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiServer:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(BACKEND / "serve.py")],
                cwd=BACKEND,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            if get(self.port, "/api/health").status == 200:
                return self
            time.sleep(0.1)
        raise AssertionError("server did not become ready:\n" + self.log_path.read_text()[-3000:])

    def stop(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds until exit)."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code, time.monotonic() - started

    def log_lines(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if line.strip()]


@dataclass
class Reply:
    status: int | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def get(port: int, path: str, timeout: float = 5.0, headers: dict[str, str] | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()})
    except (OSError, http.client.HTTPException) as exc:
        return Reply(None, error=f"{exc.__class__.__name__}: {exc}")
    finally:
        conn.close()


class Load:
    """``clients`` threads sending catalog reads and view counts back to back.

    As many clients as WSGI threads, twice the connections of a pool. A client pauses
    10 ms after a 503 (it honours ``Retry-After`` only that much), so a
    fast-failing API is not measured under an artificial retry storm.
    """

    def __init__(self, port: int, clients: int = THREADS, *, write_share: float = 0.2) -> None:
        self.port = port
        self.clients = clients
        self.write_share = write_share
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.refused_after_stop = 0
        self.retried_stale = 0

    def _client(self, seed: int) -> None:
        rnd = random.Random(seed)
        conn: http.client.HTTPConnection | None = None
        reused = False
        retry: tuple[str, str, str, bytes | None] | None = None
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                reused = False
            vid = rnd.randint(1, 1000)
            if retry is not None:
                (kind, method, path, body), retry = retry, None
            elif rnd.random() < self.write_share:
                kind, method, path, body = "write", "POST", f"/api/videos/{vid}/views", b"{}"
            elif rnd.random() < 0.5:
                kind, method, path, body = "read", "GET", f"/api/videos/{vid}", None
            else:
                kind, method, path, body = "read", "GET", "/api/videos?limit=5", None
            headers = {"Content-Type": "application/json"} if body is not None else {}
            started = time.monotonic()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                reused = True
                hdrs = {k.lower(): v for k, v in resp.getheaders()}
                sample = Sample(kind, started, time.monotonic(), resp.status, headers=hdrs)
                if hdrs.get("connection", "").lower() == "close":
                    conn.close()
                    conn = None
                if resp.status == 503:
                    time.sleep(0.01)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                if conn is not None:
                    conn.close()
                conn = None
                if reused:
                    # The server closed an idle keep-alive connection as the
                    # request went out, before reading it: what every HTTP
                    # client does, retry once on a new connection.
                    with self._lock:
                        self.retried_stale += 1
                    retry = (kind, method, path, body)
                    continue
                sample = Sample(
                    kind, started, time.monotonic(), None, f"{exc.__class__.__name__}: {exc}"
                )
                with self._lock:
                    self.samples.append(sample)
                continue
            except ConnectionRefusedError:
                # The server stopped listening (SIGTERM): behind the ALB this
                # request would have gone to another task. Not sent, not lost.
                with self._lock:
                    self.refused_after_stop += 1
                conn = None
                time.sleep(0.01)
                continue
            except (OSError, http.client.HTTPException) as exc:
                sample = Sample(
                    kind, started, time.monotonic(), None, f"{exc.__class__.__name__}: {exc}"
                )
                if conn is not None:
                    conn.close()
                conn = None
            with self._lock:
                self.samples.append(sample)
        if conn is not None:
            conn.close()

    def __enter__(self) -> Load:
        for i in range(self.clients):
            t = threading.Thread(target=self._client, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)


PROBE_SCRIPT = """
import socket, sys, time
port, path, interval = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
request = f"GET {path} HTTP/1.1\\r\\nHost: probe\\r\\nConnection: close\\r\\n\\r\\n".encode()
while True:
    t0 = time.monotonic()
    status = "-"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(request)
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "-"
    except OSError:
        pass
    print(f"{t0} {time.monotonic()} {status}", flush=True)
    time.sleep(interval)
"""


class Prober:
    """Liveness probe on a fresh connection every ``interval`` seconds, from its
    own process (as the ECS and ALB health checks are), so the load clients'
    threads do not delay it."""

    def __init__(self, port: int, path: str = "/health", interval: float = 0.02) -> None:
        self.cmd = [sys.executable, "-c", PROBE_SCRIPT, str(port), path, str(interval)]
        self.samples: list[Sample] = []
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Prober:
        self._proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.terminate()
        out, _ = self._proc.communicate(timeout=10)
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                status = int(parts[2]) if parts[2].isdigit() else None
                self.samples.append(Sample("live", float(parts[0]), float(parts[1]), status))


@dataclass
class Window:
    """Times of one fault: injected, database back (None: no outage expected)."""

    fault_start: float
    fault_end: float
    db_back: float | None = None


def measure(
    name: str, load: Load, probe: Prober, window: Window, *, outage: bool
) -> dict[str, Any]:
    """Figures for one fault. Requests lost: any failure outside the outage,
    anything but 200/503 inside it (and no 503 at all when ``outage`` is False)."""
    samples = load.samples
    live = [s for s in probe.samples if window.fault_start <= s.start <= window.fault_end]
    live_bad = [s for s in live if s.status != 200]
    first_503 = min((s.end for s in samples if s.status == 503), default=None)
    recovered_at = window.fault_end
    recovery = None
    if window.db_back is not None:
        # Reads and writes use separate pools (and breakers): the service has
        # recovered when both answer again. Requests that started before that
        # may still be 503s; later ones must all succeed.
        firsts = []
        for kind in ("read", "write"):
            ok_after = [
                s.end
                for s in samples
                if s.kind == kind and s.status == 200 and s.start >= window.db_back
            ]
            firsts.append(min(ok_after, default=float("inf")))
        if max(firsts) != float("inf"):
            recovery = max(firsts) - window.db_back
            recovered_at = max(window.fault_end, max(firsts))
    lost = []
    for s in samples:
        # A request overlapping the outage may be a 503, even one that
        # started just before the fault.
        inside = outage and s.end >= window.fault_start and s.start <= recovered_at
        allowed = (200, 503) if inside else (200,)
        if s.status not in allowed:
            lost.append(s)
    detected = first_503 if first_503 is not None else float("inf")
    after_detection = [s.latency for s in samples if s.status == 503 and s.start >= detected]
    result = {
        "fault": name,
        "requests": len(samples),
        "ok": sum(1 for s in samples if s.status == 200),
        "503": sum(1 for s in samples if s.status == 503),
        "lost": len(lost),
        "lost_examples": sorted({f"{s.kind} {s.status} {s.error}" for s in lost})[:5],
        # When they started, relative to the fault (seconds).
        "lost_at_s": sorted({round(s.start - window.fault_start, 2) for s in lost})[:8],
        "live_probes": len(live),
        "live_failed": len(live_bad),
        "live_p50_ms": round(pct([s.latency for s in live], 0.5) * 1000, 1),
        "live_p99_ms": round(pct([s.latency for s in live], 0.99) * 1000, 1),
        "live_max_ms": round(max((s.latency for s in live), default=0) * 1000, 1),
        "first_503_s": None if first_503 is None else round(first_503 - window.fault_start, 3),
        "503_p99_ms": round(pct(after_detection, 0.99) * 1000, 1) if after_detection else None,
        "recovery_s": None if recovery is None else round(recovery, 3),
    }
    return result


def postgres_pids(pg: LocalPostgres) -> list[int]:
    """The postmaster and its children (backends, background workers)."""
    master = int((pg.datadir / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *(int(c) for c in children)]


@contextlib.contextmanager
def frozen(pg: LocalPostgres) -> Iterator[None]:
    """SIGSTOP every PostgreSQL process (what a partition or failover looks like)."""
    pids = postgres_pids(pg)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def raw_exchange(
    port: int, data: bytes, *, half_close: bool = False, timeout: float = 3.0
) -> bytes:
    """Send raw bytes (then half-close if asked) and read until the server
    closes, or stays quiet for 0.5 s after it started answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may refuse mid-send
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        out = b""
        with contextlib.suppress(TimeoutError, OSError):
            while chunk := sock.recv(65536):
                out += chunk
                sock.settimeout(0.5)
        return out


def parse_response(raw: bytes) -> tuple[int | None, dict[str, str], bytes]:
    if not raw.startswith(b"HTTP/"):
        return None, {}, raw
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        decoded = b""
        rest = body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            decoded += rest[:size]
            rest = rest[size + 2 :]
        body = decoded
    return status, headers, body


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """Every line parsed as JSON (raises on the first line that is not)."""
    return [json.loads(line) for line in lines]
