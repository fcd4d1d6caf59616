"""Response helpers, cache headers and CORS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Config
from .logs import AccessLog

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOWED_REQUEST_HEADERS = frozenset(
    {"accept", "accept-language", "content-type", "x-api-key", "x-requested-with", "authorization"}
)
PREFLIGHT_MAX_AGE = "600"
# app.extensions key of the Cache-Control value of cacheable responses.
_CACHEABLE = "catalog_cache_control"
# app.extensions key of the CorsPolicy.
_CORS = "catalog_cors"


def cache_control(config: Config) -> str:
    """The ``Cache-Control`` value of cacheable responses (CloudFront honours it)."""
    return (
        f"public, max-age={config.cache_max_age}, "
        f"stale-while-revalidate={config.cache_stale_while_revalidate}"
    )


def json_response(payload: Any, status: int = 200, *, cacheable: bool = False) -> Response:
    """Serialise with orjson; mark the response cacheable for CloudFront when asked."""
    response = Response(orjson.dumps(payload), status=status, content_type="application/json")
    if cacheable:
        response.headers["Cache-Control"] = current_app.extensions[_CACHEABLE]
    return response


class CorsPolicy:
    """The allowed origins, as a set, built once from the frozen config."""

    __slots__ = ("origins", "wildcard")

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(origins)
        self.wildcard = "*" in self.origins

    def allowed(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for this ``Origin``, or None."""
        if not origin or not self.origins:
            return None
        if self.wildcard:
            return "*"
        return origin if origin.rstrip("/") in self.origins else None


def preflight_response(cors: CorsPolicy) -> Response:
    """The answer to ``OPTIONS`` on an existing route (API Gateway proxies preflights here)."""
    response = Response(status=204)
    headers = request.headers
    allowed = cors.allowed(headers.get("Origin"))
    wanted = headers.get("Access-Control-Request-Method")
    if allowed and wanted:
        # Access-Control-Allow-Origin: added by the Envelope, as on every response.
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        asked = [h.strip() for h in headers.get("Access-Control-Request-Headers", "").split(",")]
        permitted = [h for h in asked if h and h.lower() in ALLOWED_REQUEST_HEADERS]
        if permitted:
            response.headers["Access-Control-Allow-Headers"] = ", ".join(permitted)
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    response.headers["Allow"] = ALLOWED_METHODS
    return response


class CatalogFlask(Flask):
    """Flask whose automatic ``OPTIONS`` answer is the CORS preflight.

    Flask calls :meth:`make_default_options_response` for ``OPTIONS`` on a
    route that exists (unknown paths stay 404), so no ``before_request``
    hook runs on every other request to look for preflights.
    """

    def make_default_options_response(self) -> Response:
        cors: CorsPolicy = self.extensions[_CORS]
        return preflight_response(cors)


class Envelope:
    """WSGI middleware: what every response gets, in one layer around Flask.

    * ``Cache-Control: no-store`` unless the handler made it cacheable;
    * CORS: ``Access-Control-Allow-Origin`` for an allowed ``Origin``, and
      ``Vary: Origin`` when the origin is reflected (cached copies differ);
    * ``X-Content-Type-Options: nosniff``;
    * the JSON access-log line (:class:`catalog.logs.AccessLog`), with the
      client address ProxyFix (outside this layer) took from the trusted hop.

    Working on the WSGI header list costs a few µs per request; the same as
    Flask ``before_request``/``after_request`` hooks on ``Response.headers``
    cost about four times that.
    """

    def __init__(self, app: WsgiApp, *, cors: CorsPolicy, access: bool) -> None:
        self.app = app
        self.cors = cors
        self.access = AccessLog() if access else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        cors = self.cors
        allowed = cors.allowed(environ.get("HTTP_ORIGIN")) if cors.origins else None
        status_code = 500

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal status_code
            status_code = int(status[:3])
            vary = -1
            cacheable = False
            for i, (name, _) in enumerate(headers):
                lower = name.lower()
                if lower == "cache-control":
                    cacheable = True
                elif lower == "vary":
                    vary = i
            if not cacheable:
                headers.append(("Cache-Control", "no-store"))
            if cors.origins:
                if allowed:
                    headers.append(("Access-Control-Allow-Origin", allowed))
                if allowed != "*":
                    if vary < 0:
                        headers.append(("Vary", "Origin"))
                    elif "origin" not in (v.strip().lower() for v in headers[vary][1].split(",")):
                        headers[vary] = (headers[vary][0], f"{headers[vary][1]}, Origin")
            headers.append(("X-Content-Type-Options", "nosniff"))
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        if self.access is not None:
            path = environ.get("PATH_INFO") or ""
            if not path.isascii():  # as werkzeug decodes request.path
                path = path.encode("latin1").decode(errors="replace")
            self.access.write(
                environ["REQUEST_METHOD"],
                "/" + path.lstrip("/"),
                status_code,
                round((time.perf_counter() - started) * 1000, 2),
                environ.get("REMOTE_ADDR"),
                environ.get("HTTP_X_AMZN_TRACE_ID"),
            )
        return body


class TrustedHops(ProxyFix):
    """werkzeug's ``ProxyFix`` (same hop counting), with a fast path for plain values.

    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` values without quotes or
    backslashes split on commas exactly as ``parse_list_header`` would (items
    stripped of spaces and tabs, empty items dropped); its per-character loop
    cost a few µs per request. Anything else goes through werkzeug's parser.
    """

    def _get_real_value(self, trusted: int, value: str | None) -> str | None:
        if not (trusted and value):
            return None
        if '"' in value or "\\" in value:
            return super()._get_real_value(trusted, value)
        values = [item for item in (part.strip(" \t") for part in value.split(",")) if item]
        return values[-trusted] if len(values) >= trusted else None


def init_app(app: Flask) -> None:
    """Cache and CORS settings built once (the config is frozen), and the envelope."""
    config: Config = app.config["CATALOG"]
    app.extensions[_CACHEABLE] = cache_control(config)
    app.extensions[_CORS] = CorsPolicy(config.cors_allowed_origins)
    app.wsgi_app = Envelope(  # type: ignore[method-assign]
        app.wsgi_app, cors=app.extensions[_CORS], access=config.access_log
    )
