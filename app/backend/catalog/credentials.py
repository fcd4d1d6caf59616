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


class CredentialsUnavailableError(RuntimeError):
    """The secret could not be read (network, throttling, permissions, format)."""


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


class SecretsManagerCredentials:
    """Reads ``{"username": ..., "password": ...}`` from a Secrets Manager secret.

    On a login failure the secret is re-read once. If AWSCURRENT still holds the
    rejected password, the AWSPENDING version is tried: during a rotation the
    database may already have the new password before the label moves.
    Forced re-reads are throttled so a wrong secret cannot flood the API.
    """

    def __init__(
        self,
        secret_arn: str,
        *,
        region: str | None = None,
        cache_seconds: float = 300.0,
        min_refresh_interval: float = 2.0,
        client: Any = None,
    ) -> None:
        self._arn = secret_arn
        self._region = region
        self._cache_seconds = cache_seconds
        self._min_refresh_interval = min_refresh_interval
        self._client = client
        self._lock = threading.Lock()
        self._cached: Credentials | None = None
        self._fetched_at = 0.0
        self._last_forced = float("-inf")
        self.fetch_count = 0

    def _boto_client(self) -> Any:
        if self._client is None:
            import boto3  # imported lazily: local runs never need it

            self._client = boto3.client("secretsmanager", region_name=self._region)
        return self._client

    def _read(self, stage: str) -> Credentials | None:
        """One GetSecretValue call; None when that version stage does not exist."""
        self.fetch_count += 1
        try:
            response = self._boto_client().get_secret_value(SecretId=self._arn, VersionStage=stage)
        except Exception as exc:
            if stage != "AWSCURRENT" and _error_code(exc) == "ResourceNotFoundException":
                return None
            raise CredentialsUnavailableError(
                f"cannot read secret {self._arn} ({stage}): {exc.__class__.__name__}"
            ) from exc
        try:
            data = json.loads(response["SecretString"])
            return Credentials(str(data["username"]), str(data["password"]))
        except (KeyError, TypeError, ValueError) as exc:
            # Never log or echo the secret value itself.
            raise CredentialsUnavailableError(
                f"secret {self._arn} is not JSON with username and password"
            ) from exc

    def _remember(self, creds: Credentials) -> Credentials:
        self._cached = creds
        self._fetched_at = time.monotonic()
        return creds

    def get(self) -> Credentials:
        with self._lock:
            if self._cached is None or time.monotonic() - self._fetched_at > self._cache_seconds:
                current = self._read("AWSCURRENT")
                assert current is not None
                log.info("database credentials loaded", extra={"secret_arn": self._arn})
                return self._remember(current)
            return self._cached

    def refresh_after_failure(self, failed: Credentials) -> Credentials:
        with self._lock:
            # Another thread may already have re-read the rotated secret.
            if self._cached is not None and self._cached != failed:
                return self._cached
            now = time.monotonic()
            if now - self._last_forced < self._min_refresh_interval:
                return self._cached or failed
            self._last_forced = now
            log.warning("database login failed; re-reading secret", extra={"secret_arn": self._arn})
            current = self._read("AWSCURRENT")
            assert current is not None
            if current == failed:
                pending = self._read("AWSPENDING")
                if pending is not None and pending != failed:
                    log.warning(
                        "using the AWSPENDING secret version (rotation in progress)",
                        extra={"secret_arn": self._arn},
                    )
                    return self._remember(pending)
            return self._remember(current)
