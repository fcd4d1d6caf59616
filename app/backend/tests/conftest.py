"""Shared fixtures: a throwaway PostgreSQL cluster and the Flask app on it."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request

from catalog import create_app
from catalog.config import Config
from devtools.local_pg import LocalPostgres

BACKEND = Path(__file__).resolve().parent.parent
ALLOWED_ORIGIN = "https://app.example.com"
MEDIA_BASE_URL = "https://d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"

# One media signing key for the whole session, as run_local.py makes for local runs.
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_KEY_DIR = Path(tempfile.mkdtemp(prefix="catalog-test-key-"))
atexit.register(shutil.rmtree, _KEY_DIR, True)
SIGNING_KEY_FILE = _KEY_DIR / "media-signing-key.pem"
SIGNING_KEY_FILE.write_bytes(
    SIGNING_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
)


def make_config(pg: LocalPostgres, **overrides: str) -> Config:
    env = {
        **pg.env(),
        "SEED_DEMO_DATA": "true",
        "CORS_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        "CACHE_MAX_AGE": "30",
        "CACHE_STALE_WHILE_REVALIDATE": "60",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "false",
        "MEDIA_SIGNING_KEY_FILE": str(SIGNING_KEY_FILE),
        "MEDIA_KEY_PAIR_ID": KEY_PAIR_ID,
        "MEDIA_BASE_URL": MEDIA_BASE_URL,
        **overrides,
    }
    return Config.from_env(env)


def _cluster() -> Iterator[LocalPostgres]:
    """A started PostgreSQL cluster, removed afterwards."""
    cluster = LocalPostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def pg() -> Iterator[LocalPostgres]:
    """One PostgreSQL cluster for the session."""
    yield from _cluster()


@pytest.fixture
def fresh_pg() -> Iterator[LocalPostgres]:
    """A private cluster for tests that stop it, rotate passwords or need it empty."""
    yield from _cluster()


@pytest.fixture(scope="session")
def app(pg: LocalPostgres) -> Iterator[Flask]:
    """The app on the shared cluster, migrated and seeded with the demo catalog."""
    application = create_app(make_config(pg))
    application.config["TESTING"] = True
    yield application
    application.extensions["catalog_db"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(BACKEND / "openapi.yaml"))


@pytest.fixture
def conforms(openapi: OpenAPI) -> Any:
    """Assert that a test-client response matches the OpenAPI document."""

    def check(response: TestResponse) -> TestResponse:
        # The app consumed the request body: replay it from the start.
        environ = dict(response.request.environ)
        stream = environ.get("wsgi.input")
        if stream is not None and hasattr(stream, "seek"):
            stream.seek(0)
        openapi.validate_response(
            WerkzeugOpenAPIRequest(Request(environ)), WerkzeugOpenAPIResponse(response)
        )
        return response

    return check
