"""JSON error bodies for every failure: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from .db import DatabaseUnavailableError
from .http import json_response

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client can act on, rendered as JSON with its status code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _handle_api_error(exc: ApiError) -> Response:
    return json_response(error_body(exc.code, exc.message), exc.status)


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    response = json_response(
        error_body(_snake(exc.name), exc.description or exc.name),
        status,
    )
    # Keep protocol headers such as Allow on 405.
    for key, value in exc.get_response().headers.items():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


def _handle_db_unavailable(exc: DatabaseUnavailableError) -> Response:
    # Warning, not error: during an outage every request lands here, and the
    # breaker already logs the transitions at error level.
    log.warning("database unavailable", extra={"error": str(exc)})
    response = json_response(
        error_body("database_unavailable", "The catalog database is temporarily unavailable."),
        503,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return json_response(error_body("internal_error", "An unexpected error occurred."), 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DatabaseUnavailableError, _handle_db_unavailable)
    app.register_error_handler(Exception, _handle_unexpected)
