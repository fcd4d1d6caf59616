"""Catalog endpoints against the seeded demo catalog, validated against openapi.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from catalog.seed import DEMO_VIDEO_COUNT
from tests.conftest import ALLOWED_ORIGIN

CACHEABLE = "public, max-age=30, stale-while-revalidate=60"


def test_liveness(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(client.get("/health"))
    assert resp.status_code == 200
    assert resp.json == {"status": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"


def test_readiness(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(client.get("/api/health"))
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "database": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"


def test_list_defaults_to_20_newest_first(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(client.get("/api/videos"))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == CACHEABLE
    body = resp.get_json()
    assert len(body["items"]) == 20
    assert body["next_cursor"]
    keys = [(v["published_at"], v["id"]) for v in body["items"]]
    assert keys == sorted(keys, reverse=True)


def test_cursor_walks_whole_catalog_without_gaps_or_duplicates(client: FlaskClient) -> None:
    seen: list[tuple[str, int]] = []
    cursor = None
    pages = 0
    while True:
        url = "/api/videos?limit=100" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).get_json()
        seen.extend((v["published_at"], v["id"]) for v in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 10
    ids = [i for _, i in seen]
    assert len(ids) == len(set(ids)) >= DEMO_VIDEO_COUNT
    assert seen == sorted(seen, reverse=True)
    # The demo data has shared timestamps, so the id tie-breaker was exercised.
    assert len({ts for ts, _ in seen}) < len(seen)


def test_last_page_has_null_cursor(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(client.get("/api/videos?limit=5&q=%231000"))
    body = resp.get_json()
    assert [v["id"] for v in body["items"]] == [1000]
    assert body["next_cursor"] is None


def test_search_is_case_insensitive_substring(client: FlaskClient, conforms: Any) -> None:
    body = conforms(client.get("/api/videos?q=oCeAnS&limit=100")).get_json()
    assert body["items"]
    assert all("oceans" in v["title"].lower() for v in body["items"])


@pytest.mark.parametrize("q", ["%", "_", "\\", "' OR 1=1 --", "'; DROP TABLE videos; --"])
def test_sql_and_like_metacharacters_are_literal(
    client: FlaskClient, conforms: Any, q: str
) -> None:
    resp = conforms(client.get("/api/videos", query_string={"q": q}))
    assert resp.status_code == 200
    assert resp.get_json()["items"] == []
    assert client.get("/api/categories").status_code == 200  # table still there


def test_category_filter(client: FlaskClient, conforms: Any) -> None:
    categories = client.get("/api/categories").get_json()["items"]
    music = next(c for c in categories if c["slug"] == "music")
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        qs: dict[str, Any] = {"category": "music", "limit": 100}
        if cursor:
            qs["cursor"] = cursor
        body = conforms(client.get("/api/videos", query_string=qs)).get_json()
        found.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert {v["category"] for v in found} == {"music"}
    assert len(found) == music["video_count"]


def test_unknown_category_gives_empty_page(client: FlaskClient, conforms: Any) -> None:
    body = conforms(client.get("/api/videos?category=no-such-thing")).get_json()
    assert body == {"items": [], "next_cursor": None}


def test_search_and_category_combine(client: FlaskClient) -> None:
    body = client.get("/api/videos?q=the&category=travel&limit=100").get_json()
    assert all(v["category"] == "travel" and "the" in v["title"].lower() for v in body["items"])


def test_categories(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(client.get("/api/categories"))
    assert resp.headers["Cache-Control"] == CACHEABLE
    items = resp.get_json()["items"]
    assert len(items) == 12
    assert sum(c["video_count"] for c in items) >= DEMO_VIDEO_COUNT
    assert [c["name"] for c in items] == sorted(c["name"] for c in items)


def test_video_detail(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(client.get("/api/videos/42"))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == CACHEABLE
    video = resp.get_json()
    assert video["id"] == 42
    assert video["published_at"].endswith("Z")


def test_missing_video_is_404_json(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(client.get("/api/videos/999999"))
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("body", [None, b"", b"{}", b'{"source": "web"}'])
def test_view_counter_increments(client: FlaskClient, conforms: Any, body: bytes | None) -> None:
    before = client.get("/api/videos/7").get_json()["views"]
    resp = conforms(client.post("/api/videos/7/views", data=body, content_type="application/json"))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.get_json() == {"id": 7, "views": before + 1}


def test_view_counter_unknown_video(client: FlaskClient, conforms: Any) -> None:
    resp = conforms(
        client.post("/api/videos/999999/views", json={}, content_type="application/json")
    )
    assert resp.status_code == 404


def test_unknown_route_is_404_json(client: FlaskClient) -> None:
    for path in ("/nope", "/api/nope", "/api/videos/1/comments", "/api/videos/"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert resp.is_json
        assert resp.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_json(client: FlaskClient) -> None:
    resp = client.delete("/api/videos/1")
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]
    assert client.get("/api/videos/1/views").status_code == 405


def test_cors_for_allowed_origin(client: FlaskClient) -> None:
    resp = client.get("/api/videos?limit=1", headers={"Origin": ALLOWED_ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in resp.headers["Vary"]


def test_cors_not_granted_to_other_origins(client: FlaskClient) -> None:
    resp = client.get("/api/videos?limit=1", headers={"Origin": "https://evil.example"})
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_cors_preflight(client: FlaskClient) -> None:
    resp = client.options(
        "/api/videos/3/views",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-api-key",
        },
    )
    assert resp.status_code == 204
    assert resp.headers.getlist("Access-Control-Allow-Origin") == [ALLOWED_ORIGIN]
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Headers"] == "content-type, x-api-key"
    assert resp.headers["Cache-Control"] == "no-store"


def test_preflight_from_unknown_origin_grants_nothing(client: FlaskClient) -> None:
    resp = client.options(
        "/api/videos",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_proxy_fix_trusts_the_configured_hops(app: Any) -> None:
    """ALB appends one X-Forwarded-For entry: trust exactly that one by default."""
    proxy = app.wsgi_app
    assert isinstance(proxy, ProxyFix)
    assert (proxy.x_for, proxy.x_proto, proxy.x_host) == (1, 1, 0)
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["addr"] = environ["REMOTE_ADDR"]
        start_response("204 No Content", [])
        return []

    wrapped = type(proxy)(inner, x_for=proxy.x_for, x_proto=proxy.x_proto)
    Client(wrapped).get("/", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert seen["addr"] == "203.0.113.9"
