"""The floor: the catalog list query and its JSON with bare Flask and nothing else.

No config, validation, error handlers, CORS, cache headers, logging or
ProxyFix: what any Flask app serving this query costs on a given server.
Reads the same DB_* variables as the service.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from flask import Flask, Response
from psycopg_pool import ConnectionPool

from catalog.api import _VIDEO_COLUMNS, encode_cursor, video_json

LIMIT = 20
SQL = _VIDEO_COLUMNS.as_string() + " ORDER BY v.published_at DESC, v.id DESC LIMIT %s"

_size = int(os.environ.get("DB_POOL_MAX_SIZE", "4"))
pool: ConnectionPool[Any] = ConnectionPool(
    kwargs={
        "host": os.environ["DB_READER_HOST"],
        "port": int(os.environ["DB_PORT"]),
        "dbname": os.environ["DB_NAME"],
        "user": os.environ["DB_USER"],
        "password": os.environ["DB_PASSWORD"],
        "sslmode": os.environ.get("DB_SSLMODE", "disable"),
        "autocommit": True,
        "options": "-c timezone=UTC",
    },
    min_size=_size,
    max_size=_size,
    open=True,
)
app = Flask(__name__)


@app.get("/api/videos")
def videos() -> Response:
    with pool.connection() as conn:
        rows = conn.execute(SQL, (LIMIT + 1,)).fetchall()
    cursor = encode_cursor(rows[LIMIT - 1][7], rows[LIMIT - 1][0]) if len(rows) > LIMIT else None
    body = {"items": [video_json(r) for r in rows[:LIMIT]], "next_cursor": cursor}
    return Response(orjson.dumps(body), mimetype="application/json")
