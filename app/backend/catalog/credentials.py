"""Database credentials: static (local runs) or from Secrets Manager.

The Secrets Manager provider caches the secret for a few minutes and re-reads
it when a login fails, so a rotated password is picked up by running tasks.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


class CredentialProvider(Protocol):
    def get(self) -> Credentials:
        """Current credentials (possibly cached)."""
        ...

    def refresh_after_failure(self, failed: Credentials) -> Credentials:
        """Credentials to retry with after ``failed`` was rejected by the server."""
        ...


class StaticCredentials:
    """Fixed user and password, for local runs and tests."""

    def __init__(self, username: str, password: str) -> None:
        self._creds = Credentials(username, password)

    def get(self) -> Credentials:
        return self._creds

    def refresh_after_failure(self, failed: Credentials) -> Credentials:
        return self._creds


class SecretsManagerCredentials:
    """Reads ``{"username": ..., "password": ...}`` from a Secrets Manager secret."""

    def __init__(
        self,
        secret_arn: str,
        *,
        region: str | None = None,
        cache_seconds: float = 300.0,
        client: Any = None,
    ) -> None:
        self._arn = secret_arn
        self._region = region
        self._cache_seconds = cache_seconds
        self._client = client
        self._lock = threading.Lock()
        self._cached: Credentials | None = None
        self._fetched_at = 0.0
        self.fetch_count = 0

    def _boto_client(self) -> Any:
        if self._client is None:
            import boto3  # imported lazily: local runs never need it

            self._client = boto3.client("secretsmanager", region_name=self._region)
        return self._client

    def _fetch(self) -> Credentials:
        response = self._boto_client().get_secret_value(SecretId=self._arn)
        self.fetch_count += 1
        try:
            data = json.loads(response["SecretString"])
            creds = Credentials(str(data["username"]), str(data["password"]))
        except (KeyError, TypeError, ValueError) as exc:
            # Never log the secret value itself.
            raise RuntimeError(
                f"secret {self._arn} is not JSON with username and password"
            ) from exc
        self._cached = creds
        self._fetched_at = time.monotonic()
        log.info("database credentials loaded", extra={"secret_arn": self._arn})
        return creds

    def get(self) -> Credentials:
        with self._lock:
            if self._cached is None or time.monotonic() - self._fetched_at > self._cache_seconds:
                return self._fetch()
            return self._cached

    def refresh_after_failure(self, failed: Credentials) -> Credentials:
        with self._lock:
            # Another thread may already have re-read the rotated secret.
            if self._cached is not None and self._cached != failed:
                return self._cached
            log.warning("database login failed; re-reading secret", extra={"secret_arn": self._arn})
            return self._fetch()
