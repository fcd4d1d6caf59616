"""Circuit breaker and query deadlines: fail fast while the database is away.

* :class:`CircuitBreaker` opens after a few consecutive failed requests
  (connection refused or reset, pool timeout, query deadline). While open,
  requests are refused at once (503 with ``Retry-After``) instead of holding
  a worker thread for the pool timeout. After ``open_seconds`` one request is
  let through as a probe; its success closes the breaker, its failure opens
  it again.
* :class:`Watchdog` enforces a client-side deadline on every query. The
  server's ``statement_timeout`` cannot fire when the server is frozen or
  unreachable (a partition or a failover in progress): the watchdog then
  shuts the connection's socket down, the waiting thread gets an error at
  once, and the pool replaces the connection.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time

log = logging.getLogger(__name__)


class CircuitOpenError(RuntimeError):
    """The breaker is open: the database is considered unreachable."""


class CircuitBreaker:
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(self, name: str, *, failure_threshold: int = 3, open_seconds: float = 0.5):
        self.name = name
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_started = 0.0

    @property
    def state(self) -> str:
        return self._state

    def before(self) -> bool:
        """Admit a request (True: it is the probe), or raise :class:`CircuitOpenError`."""
        if self._state == self.CLOSED:  # fast path, no lock
            return False
        with self._lock:
            now = time.monotonic()
            if self._state == self.OPEN and now - self._opened_at >= self.open_seconds:
                self._state = self.HALF_OPEN
                self._probe_started = now
                log.info("circuit half-open: probing the database", extra={"pool": self.name})
                return True
            if self._state == self.HALF_OPEN and now - self._probe_started > 10 * self.open_seconds:
                # A probe that never reported back (killed thread): allow another.
                self._probe_started = now
                return True
            if self._state != self.CLOSED:
                raise CircuitOpenError(f"circuit for the {self.name} pool is open")
            return False

    def success(self) -> None:
        if self._state == self.CLOSED and self._failures == 0:
            return
        with self._lock:
            if self._state != self.CLOSED:
                log.warning("circuit closed: database reachable again", extra={"pool": self.name})
            self._state = self.CLOSED
            self._failures = 0

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == self.HALF_OPEN or (
                self._state == self.CLOSED and self._failures >= self.failure_threshold
            ):
                if self._state == self.CLOSED:
                    log.error("circuit opened: database unreachable", extra={"pool": self.name})
                self._state = self.OPEN
                self._opened_at = time.monotonic()


class Watchdog:
    """Shuts down the socket of a connection whose query outlived its deadline."""

    def __init__(self, tick: float = 0.05) -> None:
        self._tick = tick
        self._lock = threading.Lock()
        # token -> (deadline, socket fd) of the queries running now: at most
        # one per thread, so the watchdog scans them all on every tick.
        self._active: dict[int, tuple[float, int]] = {}
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self.fired = 0

    def _ensure_thread(self) -> None:
        # A forked child has no watchdog thread: forget the parent's (below).
        # Checked by identity, not ``is_alive()``, which costs a lock probe per query.
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="db-watchdog", daemon=True)
            self._thread.start()
            os.register_at_fork(after_in_child=self._forget_thread)

    def _forget_thread(self) -> None:
        self._thread = None

    def arm(self, fd: int, seconds: float) -> int:
        """Start a deadline for ``fd``: its socket is shut down if :meth:`disarm`
        with the returned token does not come within ``seconds``.

        ``token = arm(...)`` then ``try: ... finally: disarm(token)`` at the call
        site, not a context manager: no object and two calls fewer per query.
        """
        token = next(self._counter)
        with self._lock:
            self._ensure_thread()
            self._active[token] = (time.monotonic() + seconds, fd)
        return token

    def disarm(self, token: int) -> None:
        with self._lock:
            self._active.pop(token, None)

    def _loop(self) -> None:
        while True:
            time.sleep(self._tick)
            now = time.monotonic()
            with self._lock:
                expired = [t for t, (due, _) in self._active.items() if due <= now]
                for token in expired:
                    self._drop(self._active.pop(token)[1])

    def _drop(self, fd: int) -> None:
        self.fired += 1
        log.warning("query deadline exceeded: dropping the connection")
        with contextlib.suppress(OSError):
            # fromfd duplicates the descriptor; shutdown acts on the shared
            # socket, so the blocked reader wakes up with EOF at once.
            sock = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()
