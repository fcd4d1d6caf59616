"""Throwaway media signing keys for local runs and tests (no AWS, no CloudFront)."""

from __future__ import annotations

from pathlib import Path

LOCAL_KEY_PAIR_ID = "LOCALDEVKEY"


def write_dev_signing_key(directory: Path) -> Path:
    """A fresh RSA 2048 key for local runs, readable by this user only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "media-signing-key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def dev_media_env(directory: Path) -> dict[str, str]:
    """The media settings the API requires at startup, with a fresh key written into `directory`."""
    return {
        "MEDIA_SIGNING_KEY_FILE": str(write_dev_signing_key(directory)),
        "MEDIA_KEY_PAIR_ID": LOCAL_KEY_PAIR_ID,
    }
