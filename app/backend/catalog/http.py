"""Response helpers, cache headers and CORS."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response, current_app, request

from .config import Config

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOWED_REQUEST_HEADERS = frozenset(
    {"accept", "accept-language", "content-type", "x-api-key", "x-requested-with", "authorization"}
)
PREFLIGHT_MAX_AGE = "600"
# app.extensions key of the Cache-Control value of cacheable responses.
_CACHEABLE = "catalog_cache_control"


def cache_control(config: Config) -> str:
    """The ``Cache-Control`` value of cacheable responses (CloudFront honours it)."""
    return (
        f"public, max-age={config.cache_max_age}, "
        f"stale-while-revalidate={config.cache_stale_while_revalidate}"
    )


def json_response(payload: Any, status: int = 200, *, cacheable: bool = False) -> Response:
    """Serialise with orjson; mark the response cacheable for CloudFront when asked."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response: Response = app.response_class(
        orjson.dumps(payload), status=status, content_type="application/json"
    )
    if cacheable:
        response.headers["Cache-Control"] = app.extensions[_CACHEABLE]
    return response


def _allowed_origin(config: Config, origin: str | None) -> str | None:
    if not origin or not config.cors_allowed_origins:
        return None
    if "*" in config.cors_allowed_origins:
        return "*"
    return origin if origin.rstrip("/") in config.cors_allowed_origins else None


def _preflight() -> Response | None:
    """Answer CORS preflight requests for existing routes (API Gateway proxies them here)."""
    if request.method != "OPTIONS" or request.routing_exception is not None:
        return None
    config: Config = current_app.config["CATALOG"]
    response = current_app.response_class(status=204)
    allowed = _allowed_origin(config, request.headers.get("Origin"))
    wanted = request.headers.get("Access-Control-Request-Method")
    if allowed and wanted:
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        asked = [
            h.strip()
            for h in request.headers.get("Access-Control-Request-Headers", "").split(",")
            if h.strip()
        ]
        permitted = [h for h in asked if h.lower() in ALLOWED_REQUEST_HEADERS]
        if permitted:
            response.headers["Access-Control-Allow-Headers"] = ", ".join(permitted)
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    response.headers["Allow"] = ALLOWED_METHODS
    return response


def _finish(response: Response) -> Response:
    config: Config = current_app.config["CATALOG"]
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if config.cors_allowed_origins:
        allowed = _allowed_origin(config, request.headers.get("Origin"))
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
        if allowed != "*":
            # Cached copies differ per Origin when the origin is reflected.
            response.vary.add("Origin")
    # Set, not setdefault: no handler sets it, and a header lookup that misses
    # raises and catches a KeyError inside werkzeug on every response.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def init_app(app: Flask) -> None:
    # The config is frozen: build the header value once, not per response.
    app.extensions[_CACHEABLE] = cache_control(app.config["CATALOG"])
    app.before_request(_preflight)
    app.after_request(_finish)
