"""PostgreSQL access: a reader pool and a writer pool (psycopg 3 + psycopg_pool).

* Credentials are resolved for every new connection, so a rotated secret is
  used as soon as the pool reconnects.
* A login rejected by the server triggers one re-read of the secret and one
  retry, inside the connection factory the pools use.
* A connection the server has closed (failover, restart, killed backend) is
  noticed when it leaves the pool, without a round trip, and replaced.
* Queries that fail on a broken connection are retried once.
* Every query runs under a client-side deadline (:class:`~catalog.breaker.Watchdog`)
  and every request passes a circuit breaker per pool
  (:class:`~catalog.breaker.CircuitBreaker`), so an unreachable or frozen
  database costs a request milliseconds, not seconds.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from .breaker import CircuitBreaker, CircuitOpenError, Watchdog
from .config import Config
from .credentials import (
    CredentialProvider,
    Credentials,
    CredentialsUnavailableError,
    SecretsManagerCredentials,
    StaticCredentials,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

AUTH_FAILURE_SQLSTATES = frozenset({"28P01", "28000"})


class DatabaseUnavailableError(RuntimeError):
    """The database could not be reached after the configured retries."""

    #: Seconds a client should wait before trying again (``Retry-After``).
    retry_after = 1


def is_stale(conn: psycopg.Connection[Any]) -> bool:
    """True for a pooled connection the server has already closed.

    An idle connection has nothing to read: a readable socket means the
    server sent its goodbye (terminated backend, restart, failover) or closed
    the socket. One ``poll`` (not ``select``, which fails on descriptors
    above 1023: a busy task holds more sockets than that), no round trip.
    """
    if conn.closed or conn.broken:
        return True
    # One poll object per connection (its socket never changes), not one per request.
    poller = getattr(conn, "_catalog_poller", None)
    if poller is None:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        conn._catalog_poller = poller  # type: ignore[attr-defined]
    return bool(poller.poll(0))


def is_auth_failure(exc: BaseException) -> bool:
    """True when the server rejected the login (wrong or rotated password)."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    if getattr(exc, "sqlstate", None) in AUTH_FAILURE_SQLSTATES:
        return True
    return "password authentication failed" in str(exc)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying on a fresh connection."""
    if isinstance(exc, CredentialsUnavailableError):
        return True
    return isinstance(exc, (psycopg.OperationalError, PoolTimeout)) and not isinstance(
        exc, psycopg.errors.QueryCanceled
    )


def credential_provider(config: Config) -> CredentialProvider:
    if config.db_secret_arn:
        return SecretsManagerCredentials(
            config.db_secret_arn,
            region=config.aws_region,
            cache_seconds=config.secret_cache_seconds,
        )
    assert config.db_user is not None
    assert config.db_password is not None
    return StaticCredentials(config.db_user, config.db_password)


def _connection_class(provider: CredentialProvider) -> type[psycopg.Connection[Any]]:
    """A Connection subclass whose ``connect`` re-reads the secret once on a login failure."""

    class CatalogConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> CatalogConnection:
            try:
                return super().connect(conninfo, **kwargs)
            except psycopg.OperationalError as exc:
                if not is_auth_failure(exc):
                    raise
                failed = Credentials(str(kwargs.get("user")), str(kwargs.get("password")))
                fresh = provider.refresh_after_failure(failed)
                if fresh == failed:
                    raise
                kwargs.update(user=fresh.username, password=fresh.password)
                return super().connect(conninfo, **kwargs)

    return CatalogConnection


class Database:
    """Reader and writer connection pools plus retry logic."""

    def __init__(self, config: Config, provider: CredentialProvider | None = None) -> None:
        self.config = config
        self.credentials = provider or credential_provider(config)
        conn_class = _connection_class(self.credentials)
        common: dict[str, Any] = {
            "connection_class": conn_class,
            "min_size": config.db_pool_min_size,
            "max_size": config.db_pool_max_size,
            "timeout": config.db_pool_timeout,
            "open": False,
            # Give up on a dead slot quickly: waiting requests (the breaker's
            # probe) grow the pool again on demand, so recovery after an
            # outage does not wait for a backed-off reconnect attempt.
            "reconnect_timeout": 1.0,
            "max_idle": 300.0,
            "max_lifetime": 1800.0,
        }
        self.reader = ConnectionPool(
            kwargs=lambda: self.connect_kwargs(config.db_reader_host, read_only=True),
            name="reader",
            **common,
        )
        self.writer = ConnectionPool(
            kwargs=lambda: self.connect_kwargs(config.db_writer_host, read_only=False),
            name="writer",
            **common,
        )
        self.breakers = {
            pool.name: CircuitBreaker(
                pool.name,
                failure_threshold=config.db_breaker_failures,
                open_seconds=config.db_breaker_open_seconds,
            )
            for pool in (self.reader, self.writer)
        }
        # The client-side deadline of one query: the server's statement
        # timeout plus a margin, so the server normally cancels first.
        self.query_deadline = config.db_statement_timeout_ms / 1000 + 0.5
        self.watchdog = Watchdog()
        self._closed = False
        self._lock = threading.Lock()

    def connect_kwargs(
        self, host: str, *, read_only: bool = False, request_limits: bool = True
    ) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect``, with current credentials.

        Pooled (request) connections carry the statement and lock timeouts;
        migrations and the seed run without them.
        """
        creds = self.credentials.get()
        options = "-c timezone=UTC"
        if request_limits:
            options += (
                f" -c statement_timeout={self.config.db_statement_timeout_ms}"
                f" -c lock_timeout={self.config.db_lock_timeout_ms}"
            )
        if read_only:
            options += " -c default_transaction_read_only=on"
        kwargs: dict[str, Any] = {
            "host": host,
            "port": self.config.db_port,
            "dbname": self.config.db_name,
            "user": creds.username,
            "password": creds.password,
            "sslmode": self.config.db_sslmode,
            "connect_timeout": self.config.db_connect_timeout,
            "application_name": "catalog-api",
            "options": options,
            "autocommit": True,
        }
        if self.config.db_sslrootcert:
            kwargs["sslrootcert"] = self.config.db_sslrootcert
        return kwargs

    def connect(
        self, *, read_only: bool = False, autocommit: bool = True
    ) -> psycopg.Connection[Any]:
        """A standalone connection outside the pools (migrations, seeding)."""
        host = self.config.db_reader_host if read_only else self.config.db_writer_host
        kwargs = self.connect_kwargs(host, read_only=read_only, request_limits=False)
        kwargs["autocommit"] = autocommit
        conn_class = _connection_class(self.credentials)
        return conn_class.connect(**kwargs)

    def open(self) -> None:
        self.reader.open(wait=False)
        self.writer.open(wait=False)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.reader.close(timeout=2.0)
        self.writer.close(timeout=2.0)

    def run(
        self,
        fn: Callable[[psycopg.Connection[Any]], T],
        *,
        write: bool = False,
        timeout: float | None = None,
        attempts: int | None = None,
    ) -> T:
        """Run ``fn(conn)`` on a pooled connection, retrying a broken connection.

        Raises :class:`DatabaseUnavailableError` when the breaker is open, no
        connection could be had within the pool timeout, the query outlived
        its deadline, or every attempt failed; :class:`DatabaseBusyError` on a
        statement or lock timeout (the database answered, but too slowly).
        """
        pool = self.writer if write else self.reader
        breaker = self.breakers[pool.name]
        try:
            probe = breaker.before()
        except CircuitOpenError as exc:
            raise DatabaseUnavailableError(str(exc)) from None
        attempts = attempts or self.config.db_retry_attempts
        if probe:
            # The one request let through an open breaker finds out quickly:
            # a short pool wait, short statement and lock timeouts, no retry.
            fn = _probing(fn)
            timeout = min(timeout or self.config.db_pool_timeout, PROBE_POOL_TIMEOUT)
            attempts = 1
        last: BaseException | None = None
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                result = self._run_once(pool, fn, timeout)
            except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as exc:
                # statement_timeout or lock_timeout: the database answered too
                # slowly. Retrying would only add load; it counts towards the
                # breaker, which then sheds load until a probe gets through.
                breaker.failure()
                kind = "lock" if isinstance(exc, psycopg.errors.LockNotAvailable) else "statement"
                raise DatabaseBusyError(f"{kind} timeout") from exc
            except Exception as exc:
                if not is_transient(exc):
                    breaker.success()
                    raise
                last = exc
                log.warning(
                    "database attempt failed",
                    extra={"pool": pool.name, "attempt": attempt, "error": str(exc).strip()},
                )
                if (
                    isinstance(exc, PoolTimeout)
                    or time.monotonic() - started >= self.query_deadline
                ):
                    # The pool already waited for a connection, or the query
                    # ran into its deadline: retrying would only hold this
                    # thread longer during an outage.
                    break
                # A connection dropped under the query (killed backend,
                # failover): cheap to retry on another one.
                if attempt < attempts:
                    time.sleep(0.01 * attempt)
            else:
                breaker.success()
                return result
        breaker.failure()
        raise DatabaseUnavailableError(str(last).strip() or last.__class__.__name__) from last

    def _run_once(
        self,
        pool: ConnectionPool[Any],
        fn: Callable[[psycopg.Connection[Any]], T],
        timeout: float | None,
    ) -> T:
        # Skip (and discard) idle connections the server closed meanwhile, so
        # killed backends never cost a request an attempt.
        watchdog = self.watchdog
        for _ in range(self.config.db_pool_max_size + 1):
            with pool.connection(timeout=timeout) as conn:
                if is_stale(conn):
                    conn.close()  # the pool replaces a closed connection
                    continue
                token = watchdog.arm(conn.fileno(), self.query_deadline)
                try:
                    return fn(conn)
                finally:
                    watchdog.disarm(token)
        raise psycopg.OperationalError("every pooled connection was closed by the server")

    def ping(self, timeout: float = 0.5) -> None:
        """Readiness probe: one ``SELECT 1`` on each pool, within ``timeout`` each."""
        for write in (False, True):
            self.run(
                lambda c: c.execute("SELECT 1").fetchone(), write=write, timeout=timeout, attempts=2
            )


# The probe is a viewer's request too: its 503 must come within the 100 ms budget. A connection the
# pool is still opening keeps opening in the background, so the next probe (0.5 s later) finds it.
PROBE_POOL_TIMEOUT = 0.05
PROBE_LIMITS = "SET statement_timeout = 200; SET lock_timeout = 50"


def _probing(fn: Callable[[psycopg.Connection[Any]], T]) -> Callable[[psycopg.Connection[Any]], T]:
    """``fn`` under the probe's short timeouts, restored afterwards."""

    def run(conn: psycopg.Connection[Any]) -> T:
        conn.execute(PROBE_LIMITS)
        try:
            return fn(conn)
        finally:
            try:
                # RESET returns to the connection's startup values.
                conn.execute("RESET statement_timeout; RESET lock_timeout")
            except psycopg.Error:
                conn.close()  # never hand a connection with probe limits back

    return run


class DatabaseBusyError(DatabaseUnavailableError):
    """A statement or lock timeout: the database is up but did not answer in time."""
