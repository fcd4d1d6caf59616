"""Entitlement to play one video: CloudFront signed cookies with a custom policy.

The policy grants ``<MEDIA_BASE_URL>/media/<video-id>/*`` until an expiry at most
an hour away, so one set of cookies covers the master playlist, the variant
playlists and every segment of that video, which HLS players fetch by relative
URLs, and nothing else. Signing follows CloudFront's documented format: RSA
(PKCS#1 v1.5) with SHA-1 over the policy JSON, then base64 with ``+``, ``=``
and ``/`` replaced by ``-``, ``_`` and ``~``.

The private key is read once at startup, from Secrets Manager in AWS or from a
file for local runs; a missing or unusable key stops startup with a message.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .config import Config, ConfigError

MEDIA_PREFIX = "/media"
# File names of a published package, under /media/<id>/<version>/.
MASTER_PLAYLIST = "master.m3u8"
POSTER = "poster.jpg"
COOKIE_NAMES = ("CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id")
MIN_KEY_BITS = 2048
_TO_CLOUDFRONT = str.maketrans({"+": "-", "=": "_", "/": "~"})
_FROM_CLOUDFRONT = str.maketrans({"-": "+", "_": "=", "~": "/"})


def cloudfront_b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").translate(_TO_CLOUDFRONT)


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.translate(_FROM_CLOUDFRONT), validate=True)


def video_media_path(video_id: int) -> str:
    """The path every object of one video lives under (cookie Path and policy scope)."""
    return f"{MEDIA_PREFIX}/{video_id}/"


def package_path(video_id: int, version: str) -> str:
    """Where one published version of a video lives (immutable: new content, new version)."""
    return f"{video_media_path(video_id)}{version}/"


@dataclass(frozen=True)
class SignedCookies:
    policy: str
    signature: str
    key_pair_id: str
    expires_at: int
    path: str

    def as_dict(self) -> dict[str, str]:
        return dict(zip(COOKIE_NAMES, (self.policy, self.signature, self.key_pair_id), strict=True))


class MediaSigner:
    """Signs one-video, short-lived CloudFront policies with the current signing key."""

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        key_pair_id: str,
        *,
        base_url: str | None,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = private_key
        self.key_pair_id = key_pair_id
        # Without a base URL (local runs) the policy covers any host; no CloudFront there.
        self._base = base_url.rstrip("/") if base_url else "http*://*"
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    @classmethod
    def from_pem(cls, pem: bytes, key_pair_id: str, **kwargs: Any) -> MediaSigner:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            # The parser's message may quote the data: never echo key material.
            raise ConfigError(
                "the media signing key is not a PEM private key (unencrypted PKCS#8 or PKCS#1)"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
            raise ConfigError(
                f"the media signing key must be an RSA key of at least {MIN_KEY_BITS} bits "
                "(CloudFront signs with RSA-SHA1)"
            )
        return cls(key, key_pair_id, **kwargs)

    def policy_for(self, video_id: int, expires_at: int) -> bytes:
        statement = {
            "Resource": f"{self._base}{video_media_path(video_id)}*",
            "Condition": {"DateLessThan": {"AWS:EpochTime": expires_at}},
        }
        return orjson.dumps({"Statement": [statement]})

    def cookies_for(self, video_id: int) -> SignedCookies:
        expires_at = int(self._clock()) + self.ttl_seconds
        policy = self.policy_for(video_id, expires_at)
        signature = self._key.sign(policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's format
        return SignedCookies(
            policy=cloudfront_b64encode(policy),
            signature=cloudfront_b64encode(signature),
            key_pair_id=self.key_pair_id,
            expires_at=expires_at,
            path=video_media_path(video_id),
        )


def read_signing_key(config: Config, *, client: Any = None) -> bytes:
    """The PEM of the signing key: from MEDIA_SIGNING_KEY_FILE, else the Secrets Manager secret."""
    if config.media_signing_key_file:
        path = Path(config.media_signing_key_file)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"MEDIA_SIGNING_KEY_FILE {path} cannot be read ({exc.strerror})"
            ) from None
    assert config.media_signing_secret_arn is not None
    if client is None:
        import boto3

        client = boto3.client("secretsmanager", region_name=config.aws_region)
    try:
        value = client.get_secret_value(SecretId=config.media_signing_secret_arn)
    except Exception as exc:
        raise ConfigError(
            f"the media signing key secret {config.media_signing_secret_arn} cannot be read "
            f"({type(exc).__name__})"
        ) from None
    secret = value.get("SecretString")
    if not secret:
        raise ConfigError(
            f"the media signing key secret {config.media_signing_secret_arn} is empty"
        )
    return str(secret).encode()


def signer_from_config(config: Config, *, client: Any = None) -> MediaSigner:
    return MediaSigner.from_pem(
        read_signing_key(config, client=client),
        config.media_key_pair_id,
        base_url=config.media_base_url,
        ttl_seconds=config.media_cookie_ttl,
    )
