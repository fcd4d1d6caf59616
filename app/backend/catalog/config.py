"""Service configuration, read once from the environment.

ECS injects SSM parameters and the secret ARN as environment variables. Every
setting lives in one frozen dataclass so the rest of the code never reads
``os.environ``. A missing required value stops startup with a message that
names the variable; there are no default credentials.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Signed media cookies live at most an hour (CloudFront checks the expiry on every request).
MAX_MEDIA_COOKIE_TTL = 3600
MIN_MEDIA_COOKIE_TTL = 60

N = TypeVar("N", int, float)


class ConfigError(ValueError):
    """Raised when the environment does not describe a runnable service."""


@dataclasses.dataclass(frozen=True)
class Config:
    db_writer_host: str
    db_name: str
    # CloudFront key pair (public key) id whose private key signs the media cookies.
    media_key_pair_id: str
    db_reader_host: str = ""
    db_port: int = 5432
    db_user: str | None = dataclasses.field(default=None, repr=False)
    db_password: str | None = dataclasses.field(default=None, repr=False)
    db_secret_arn: str | None = None
    db_sslmode: str = "require"
    db_sslrootcert: str | None = None
    db_connect_timeout: int = 2
    db_statement_timeout_ms: int = 2000
    db_lock_timeout_ms: int = 500
    db_pool_min_size: int = 1
    db_pool_max_size: int = 8
    db_pool_timeout: float = 0.5
    db_retry_attempts: int = 3
    db_breaker_failures: int = 3
    db_breaker_open_seconds: float = 0.5
    secret_cache_seconds: int = 300
    aws_region: str | None = None
    log_level: str = "INFO"
    access_log: bool = True
    cors_allowed_origins: tuple[str, ...] = ()
    cache_max_age: int = 30
    cache_stale_while_revalidate: int = 60
    seed_demo_data: bool = False
    run_migrations: bool = True
    proxy_fix_x_for: int = 1
    proxy_fix_x_proto: int = 1
    media_signing_secret_arn: str | None = None
    media_signing_key_file: str | None = None
    media_base_url: str | None = None
    media_cookie_ttl: int = MAX_MEDIA_COOKIE_TTL
    media_cookie_secure: bool = True

    def __post_init__(self) -> None:
        if not self.db_reader_host:
            object.__setattr__(self, "db_reader_host", self.db_writer_host)
        if not self.db_secret_arn and not (self.db_user and self.db_password):
            raise ConfigError(
                "missing required environment variable DB_SECRET_ARN "
                "(or DB_USER and DB_PASSWORD for local runs)"
            )
        if self.db_sslmode not in SSL_MODES:
            raise ConfigError(
                f"DB_SSLMODE must be one of {', '.join(SSL_MODES)}; got {self.db_sslmode!r}"
            )
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; got {self.log_level!r}"
            )
        if not 1 <= self.db_pool_min_size <= self.db_pool_max_size:
            raise ConfigError("DB_POOL_MIN_SIZE must be >= 1 and <= DB_POOL_MAX_SIZE")
        for name in ("cache_max_age", "cache_stale_while_revalidate", "proxy_fix_x_for"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.upper()} must not be negative")
        if self.db_retry_attempts < 1:
            raise ConfigError("DB_RETRY_ATTEMPTS must be at least 1")
        if not self.media_signing_secret_arn and not self.media_signing_key_file:
            raise ConfigError(
                "missing required environment variable MEDIA_SIGNING_SECRET_ARN "
                "(or MEDIA_SIGNING_KEY_FILE for local runs): the API cannot entitle playback "
                "without the media signing key"
            )
        if not MIN_MEDIA_COOKIE_TTL <= self.media_cookie_ttl <= MAX_MEDIA_COOKIE_TTL:
            raise ConfigError(
                f"MEDIA_COOKIE_TTL must be {MIN_MEDIA_COOKIE_TTL}-{MAX_MEDIA_COOKIE_TTL} seconds; "
                f"got {self.media_cookie_ttl}"
            )
        if self.media_base_url and not re.fullmatch(
            r"https?://[A-Za-z0-9.-]+(:\d+)?", self.media_base_url
        ):
            raise ConfigError(
                "MEDIA_BASE_URL must be an origin like https://d111.cloudfront.net; "
                f"got {self.media_base_url!r}"
            )
        if self.db_connect_timeout < 2:
            # libpq treats 1 as 2 and 0 as "wait forever".
            raise ConfigError("DB_CONNECT_TIMEOUT must be at least 2 (seconds)")
        for name in ("db_statement_timeout_ms", "db_lock_timeout_ms", "db_breaker_failures"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be at least 1 (0 would disable it)")
        if not 0 < self.db_pool_timeout <= 5 or not 0 < self.db_breaker_open_seconds <= 5:
            raise ConfigError(
                "DB_POOL_TIMEOUT and DB_BREAKER_OPEN_SECONDS must be in (0, 5] seconds"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Build the config from environment variables (``os.environ`` by default)."""
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(f"missing required environment variable {name}")
            return value

        def optional(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def parsed(name: str, default: N, cast: Callable[[str], N], kind: str) -> N:
            raw = optional(name)
            if raw is None:
                return default
            try:
                return cast(raw)
            except ValueError:
                raise ConfigError(f"{name} must be {kind}; got {raw!r}") from None

        def integer(name: str, default: int) -> int:
            return parsed(name, default, int, "an integer")

        def number(name: str, default: float) -> float:
            return parsed(name, default, float, "a number")

        def boolean(name: str, default: bool) -> bool:
            raw = env.get(name, "").strip().lower()
            if not raw:
                return default
            if raw in ("1", "true", "yes", "on"):
                return True
            if raw in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{name} must be true or false; got {raw!r}")

        origins = tuple(
            o.strip().rstrip("/")
            for o in env.get("CORS_ALLOWED_ORIGINS", "").split(",")
            if o.strip()
        )
        return cls(
            db_writer_host=required("DB_WRITER_HOST"),
            db_reader_host=optional("DB_READER_HOST") or "",
            db_name=required("DB_NAME"),
            db_port=integer("DB_PORT", 5432),
            db_user=optional("DB_USER"),
            db_password=env.get("DB_PASSWORD") or None,
            db_secret_arn=optional("DB_SECRET_ARN"),
            db_sslmode=(optional("DB_SSLMODE") or "require").lower(),
            db_sslrootcert=optional("DB_SSLROOTCERT"),
            db_connect_timeout=integer("DB_CONNECT_TIMEOUT", cls.db_connect_timeout),
            db_statement_timeout_ms=integer("DB_STATEMENT_TIMEOUT_MS", cls.db_statement_timeout_ms),
            db_lock_timeout_ms=integer("DB_LOCK_TIMEOUT_MS", cls.db_lock_timeout_ms),
            db_pool_min_size=integer("DB_POOL_MIN_SIZE", 1),
            db_pool_max_size=integer("DB_POOL_MAX_SIZE", 8),
            db_pool_timeout=number("DB_POOL_TIMEOUT", cls.db_pool_timeout),
            db_retry_attempts=integer("DB_RETRY_ATTEMPTS", cls.db_retry_attempts),
            db_breaker_failures=integer("DB_BREAKER_FAILURES", cls.db_breaker_failures),
            db_breaker_open_seconds=number("DB_BREAKER_OPEN_SECONDS", cls.db_breaker_open_seconds),
            secret_cache_seconds=integer("SECRET_CACHE_SECONDS", 300),
            aws_region=optional("AWS_REGION") or optional("AWS_DEFAULT_REGION"),
            log_level=(optional("LOG_LEVEL") or "INFO").upper(),
            access_log=boolean("ACCESS_LOG", True),
            cors_allowed_origins=origins,
            cache_max_age=integer("CACHE_MAX_AGE", 30),
            cache_stale_while_revalidate=integer("CACHE_STALE_WHILE_REVALIDATE", 60),
            seed_demo_data=boolean("SEED_DEMO_DATA", False),
            run_migrations=boolean("RUN_MIGRATIONS", True),
            # ALB appends one X-Forwarded-For entry; raise it when the task
            # sits behind more proxies that the ALB forwards for.
            proxy_fix_x_for=integer("PROXY_FIX_X_FOR", 1),
            proxy_fix_x_proto=integer("PROXY_FIX_X_PROTO", 1),
            media_key_pair_id=required("MEDIA_KEY_PAIR_ID"),
            media_signing_secret_arn=optional("MEDIA_SIGNING_SECRET_ARN"),
            media_signing_key_file=optional("MEDIA_SIGNING_KEY_FILE"),
            media_base_url=(optional("MEDIA_BASE_URL") or "").rstrip("/") or None,
            media_cookie_ttl=integer("MEDIA_COOKIE_TTL", MAX_MEDIA_COOKIE_TTL),
            media_cookie_secure=boolean("MEDIA_COOKIE_SECURE", True),
        )
