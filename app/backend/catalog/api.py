"""Catalog endpoints under /api, plus the liveness probe at /health."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from flask import Blueprint, Response, current_app, request
from psycopg import sql

from .db import Database, DatabaseUnavailableError
from .errors import ApiError, bad_request, error_body
from .http import json_response
from .playback import MASTER_PLAYLIST, POSTER, MediaSigner, package_path

api = Blueprint("api", __name__, url_prefix="/api")
probes = Blueprint("probes", __name__)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUERY_LENGTH = 100
MAX_CURSOR_LENGTH = 64
MAX_ID = 2**63 - 1
MAX_BODY_BYTES = 16 * 1024
# Readiness waits at most this long for a connection from each pool; an open
# circuit answers at once.
READINESS_POOL_TIMEOUT = 0.25

# Used with fullmatch: ``$`` would also accept a trailing newline.
_DIGITS = re.compile(r"[0-9]{1,19}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")
_CURSOR = re.compile(r"(-?[0-9]{1,18})\.([0-9]{1,19})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Cursor timestamps are limited to a sane window: years 1900..9999.
_MIN_MICROS = -2_208_988_800_000_000
_MAX_MICROS = 253_402_300_799_999_999

_VIDEO_COLUMNS = sql.SQL(
    "SELECT v.id, v.title, v.description, c.slug, c.name, v.duration_seconds, v.views, "
    "v.published_at, v.media_version FROM videos v JOIN categories c ON c.id = v.category_id"
)


def _db() -> Database:
    db: Database = current_app.extensions["catalog_db"]
    return db


# --- input parsing ---------------------------------------------------------


def _param(args: Mapping[str, str], name: str) -> str | None:
    """A query parameter as sent, or None.

    ``in`` first: werkzeug's ``MultiDict.get`` builds and catches an
    exception for every absent key, and most list requests send none.
    """
    return args[name] if name in args else None  # noqa: SIM401


def _arg(args: Mapping[str, str], name: str) -> str | None:
    """A query parameter; an empty value counts as absent (HTML forms send them)."""
    return _param(args, name) or None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}.")
    return int(raw)


def parse_id(raw: str) -> int:
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_ID:
        raise bad_request("invalid_id", "Video id must be a positive integer.")
    return int(raw)


def encode_cursor(published_at: datetime, video_id: int) -> str:
    micros = (published_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{video_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[datetime, int]:
    """Parse an opaque cursor; anything that we could not have issued is a 400."""
    invalid = bad_request("invalid_cursor", "cursor is not a value returned by this API.")
    if len(raw) > MAX_CURSOR_LENGTH or not re.fullmatch(r"[A-Za-z0-9_-]+", raw):
        raise invalid
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise invalid from None
    match = _CURSOR.fullmatch(text)
    if not match:
        raise invalid
    micros, video_id = int(match[1]), int(match[2])
    if not _MIN_MICROS <= micros <= _MAX_MICROS or not 1 <= video_id <= MAX_ID:
        raise invalid
    return _EPOCH + timedelta(microseconds=micros), video_id


def parse_query(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > MAX_QUERY_LENGTH:
        raise bad_request("invalid_query", f"q must be at most {MAX_QUERY_LENGTH} characters.")
    if _CONTROL.search(raw):
        raise bad_request("invalid_query", "q must not contain control characters.")
    return raw.strip() or None


def parse_category(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _SLUG.fullmatch(raw):
        raise bad_request(
            "invalid_category", "category must be a slug (lowercase letters, digits, hyphens)."
        )
    return raw


def like_pattern(text: str) -> str:
    """Substring pattern for ILIKE with the LIKE metacharacters escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def read_body() -> bytes:
    """The request body, only when its framing is sound.

    A chunked body is refused with 411 (the one JSON body this API accepts is
    tiny; CloudFront and API Gateway send a Content-Length): WSGI servers
    differ in how they report a malformed chunk, and one of them hands the
    application an empty body. A body shorter than its Content-Length is a
    400, never a truncated success; a longer declared length is a 413.
    """
    if request.headers.get("Transfer-Encoding"):
        raise ApiError(411, "length_required", "Send the body with a Content-Length header.")
    expected = request.content_length or 0
    if expected > MAX_BODY_BYTES:
        raise ApiError(
            413, "request_entity_too_large", f"The body limit is {MAX_BODY_BYTES} bytes."
        )
    raw = request.get_data(cache=False)
    if len(raw) != expected:
        raise bad_request("incomplete_body", "The body is shorter than its Content-Length.")
    return raw


# --- serialisation ---------------------------------------------------------


def _iso(ts: datetime) -> str:
    """``2024-05-01T12:00:00Z``: UTC, whole seconds.

    ``isoformat`` (after the conversion the offset is always ``+00:00``) costs
    about two thirds of ``strftime``; it runs for every item of every list.
    """
    return ts.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"


def video_json(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "title": row[1],
        "description": row[2],
        "category": row[3],
        "category_name": row[4],
        "duration_seconds": row[5],
        "views": row[6],
        "published_at": _iso(row[7]),
        "playable": row[8] is not None,
        # Posters are public (catalog art); everything else under /media/ needs the signed cookies.
        "poster_url": f"{package_path(row[0], row[8])}{POSTER}" if row[8] else None,
    }


# --- endpoints -------------------------------------------------------------


@probes.get("/health")
def liveness() -> Response:
    """Liveness: the process answers. Never touches the database.

    In the container granian answers ``/health`` itself from
    ``catalog/liveness/health.json`` (see ``serve.py``), so the probe never
    waits for a Python thread; this route serves other WSGI servers and tests.
    """
    return json_response({"status": "ok"})


@api.get("/health")
def readiness() -> Response:
    """Readiness: both pools answer ``SELECT 1``; 503 within READINESS_BUDGET otherwise."""
    try:
        _db().ping(timeout=READINESS_POOL_TIMEOUT)
    except DatabaseUnavailableError:
        body: dict[str, Any] = {
            "status": "unavailable",
            "database": "unreachable",
            **error_body("database_unavailable", "The catalog database does not answer."),
        }
        response = json_response(body, 503)
        response.headers["Retry-After"] = "1"
        return response
    return json_response({"status": "ok", "database": "ok"})


@api.get("/categories")
def list_categories() -> Response:
    def query(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
        return conn.execute(
            "SELECT c.slug, c.name, count(v.id) FROM categories c "
            "LEFT JOIN videos v ON v.category_id = c.id "
            "GROUP BY c.id ORDER BY c.name, c.slug"
        ).fetchall()

    rows = _db().run(query)
    items = [{"slug": r[0], "name": r[1], "video_count": r[2]} for r in rows]
    return json_response({"items": items}, cacheable=True)


@functools.lru_cache(maxsize=8)
def list_query(cursor: bool, category: bool, search: bool) -> bytes:
    """The list query for one combination of filters, composed once."""
    where: list[sql.Composable] = []
    if cursor:
        where.append(sql.SQL("(v.published_at, v.id) < (%s, %s)"))
    if category:
        where.append(sql.SQL("v.category_id = (SELECT id FROM categories WHERE slug = %s)"))
    if search:
        where.append(sql.SQL("v.title ILIKE %s"))
    query: sql.Composable = _VIDEO_COLUMNS
    if where:
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(" AND ").join(where))
    query = sql.SQL("{} ORDER BY v.published_at DESC, v.id DESC LIMIT %s").format(query)
    return query.as_bytes()


_DETAIL_QUERY = sql.SQL("{} WHERE v.id = %s").format(_VIDEO_COLUMNS).as_bytes()


@api.get("/videos")
def list_videos() -> Response:
    args = request.args
    limit = parse_limit(_param(args, "limit"))
    cursor_raw = _arg(args, "cursor")
    cursor = decode_cursor(cursor_raw) if cursor_raw else None
    q = parse_query(_arg(args, "q"))
    category = parse_category(_arg(args, "category"))

    params: list[Any] = []
    if cursor:
        params.extend(cursor)
    if category:
        params.append(category)
    if q:
        params.append(like_pattern(q))
    params.append(limit + 1)
    query = list_query(cursor is not None, category is not None, q is not None)

    rows = _db().run(lambda conn: conn.execute(query, params).fetchall())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last[7], last[0])
    return json_response(
        {"items": [video_json(r) for r in rows], "next_cursor": next_cursor}, cacheable=True
    )


@api.get("/videos/<video_id>")
def get_video(video_id: str) -> Response:
    vid = parse_id(video_id)
    row = _db().run(lambda conn: conn.execute(_DETAIL_QUERY, (vid,)).fetchone())
    if row is None:
        raise ApiError(404, "not_found", f"Video {vid} does not exist.")
    return json_response(video_json(row), cacheable=True)


def _require_json_object_body() -> None:
    """POST bodies: Content-Type application/json, and an empty body or a JSON object."""
    if request.mimetype != "application/json":
        raise bad_request("unsupported_content_type", "Content-Type must be application/json.")
    raw = read_body()
    if raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise bad_request("invalid_json", "Request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise bad_request("invalid_body", "Request body must be a JSON object.")


@api.post("/videos/<video_id>/views")
def add_view(video_id: str) -> Response:
    vid = parse_id(video_id)
    _require_json_object_body()
    row = _db().run(
        lambda conn: conn.execute(
            "UPDATE videos SET views = views + 1 WHERE id = %s RETURNING id, views", (vid,)
        ).fetchone(),
        write=True,
    )
    if row is None:
        raise ApiError(404, "not_found", f"Video {vid} does not exist.")
    return json_response({"id": row[0], "views": row[1]})


@api.post("/videos/<video_id>/play")
def play(video_id: str) -> Response:
    """Start playback: count the view and entitle the viewer to this one video's media.

    Answers the master playlist URL and sets CloudFront signed cookies whose
    policy and Path cover /media/<id>/ only, valid for at most an hour.
    """
    vid = parse_id(video_id)
    _require_json_object_body()

    def start(conn: psycopg.Connection[Any]) -> tuple[Any, ...] | None:
        row = conn.execute(
            "UPDATE videos SET views = views + 1 WHERE id = %s AND media_version IS NOT NULL "
            "RETURNING id, views, media_version",
            (vid,),
        ).fetchone()
        if row is None:
            exists = conn.execute("SELECT 1 FROM videos WHERE id = %s", (vid,)).fetchone()
            return None if exists is None else ()
        return tuple(row)

    row = _db().run(start, write=True)
    if row is None:
        raise ApiError(404, "not_found", f"Video {vid} does not exist.")
    if not row:
        raise ApiError(409, "not_playable", f"Video {vid} has no media to play yet.")
    signer: MediaSigner = current_app.extensions["media_signer"]
    cookies = signer.cookies_for(vid)
    base = package_path(vid, row[2])
    response = json_response(
        {
            "id": row[0],
            "views": row[1],
            "manifest_url": f"{base}{MASTER_PLAYLIST}",
            "poster_url": f"{base}{POSTER}",
            "expires_at": _iso(datetime.fromtimestamp(cookies.expires_at, UTC)),
        }
    )
    secure = current_app.config["CATALOG"].media_cookie_secure
    for name, value in cookies.as_dict().items():
        # Session cookies (no Max-Age, as CloudFront recommends); the signed policy expires them.
        response.set_cookie(
            name, value, path=cookies.path, secure=secure, httponly=True, samesite="Lax"
        )
    return response
