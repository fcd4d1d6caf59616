"""Bad input gets a 400 with a JSON error body, never a 500."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from flask.testing import FlaskClient


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def assert_400(resp: Any, code: str) -> None:
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.is_json
    assert resp.get_json()["error"]["code"] == code
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "limit", ["", "abc", "0", "101", "-1", "1.5", "1e2", " 5", "99999999999999999999999", "٣"]
)
def test_bad_limit(client: FlaskClient, conforms: Any, limit: str) -> None:
    resp = conforms(client.get("/api/videos", query_string={"limit": limit}))
    assert_400(resp, "invalid_limit")


@pytest.mark.parametrize("limit", ["1", "100", "020"])
def test_limit_bounds_accepted(client: FlaskClient, limit: str) -> None:
    resp = client.get("/api/videos", query_string={"limit": limit})
    assert resp.status_code == 200
    assert len(resp.get_json()["items"]) == int(limit)


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!",
        "x" * 65,
        b64("1751252280000000"),  # no id
        b64("1751252280000000.abc"),
        b64("1751252280000000.0"),  # id out of range
        b64("1751252280000000.-5"),
        b64("999999999999999999.5"),  # timestamp beyond year 9999
        b64("1.99999999999999999999"),  # id beyond bigint
        b64("1751252280000000.5' OR '1'='1"),
        b64('{"published_at": "2025-01-01", "id": 1}'),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        "MTc1MTI1MjI4MDAwMDAwMC4z=",  # padding is never issued
    ],
)
def test_forged_cursor(client: FlaskClient, conforms: Any, cursor: str) -> None:
    resp = conforms(client.get("/api/videos", query_string={"cursor": cursor}))
    assert_400(resp, "invalid_cursor")


@pytest.mark.parametrize(
    "video_id", ["abc", "1.5", "-1", "0", "1e3", "9223372036854775808", "\uff11"]
)
def test_non_integer_or_out_of_range_id(client: FlaskClient, conforms: Any, video_id: str) -> None:
    assert_400(conforms(client.get(f"/api/videos/{video_id}")), "invalid_id")
    assert_400(
        client.post(f"/api/videos/{video_id}/views", json={}),
        "invalid_id",
    )


def test_largest_id_is_404_not_500(client: FlaskClient) -> None:
    assert client.get("/api/videos/9223372036854775807").status_code == 404


def test_oversized_query(client: FlaskClient, conforms: Any) -> None:
    assert_400(conforms(client.get("/api/videos", query_string={"q": "a" * 101})), "invalid_query")
    assert client.get("/api/videos", query_string={"q": "a" * 100}).status_code == 200


@pytest.mark.parametrize("q", ["\x00", "abc\x00def", "line\nbreak"])
def test_control_characters_in_query(client: FlaskClient, q: str) -> None:
    assert_400(client.get("/api/videos", query_string={"q": q}), "invalid_query")


@pytest.mark.parametrize("category", ["Music", "music;--", "' OR 1=1", "a" * 51, "-x", "mu sic"])
def test_bad_category(client: FlaskClient, conforms: Any, category: str) -> None:
    resp = conforms(client.get("/api/videos", query_string={"category": category}))
    assert_400(resp, "invalid_category")


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        (None, None),
        ("text/plain", "{}"),
        ("application/x-www-form-urlencoded", "a=b"),
        ("multipart/form-data; boundary=x", "--x--"),
    ],
)
def test_views_wrong_content_type(
    client: FlaskClient, conforms: Any, content_type: str | None, data: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = conforms(client.post("/api/videos/1/views", data=data, headers=headers))
    assert_400(resp, "unsupported_content_type")


@pytest.mark.parametrize(
    ("data", "code"),
    [("{not json", "invalid_json"), ("[]", "invalid_body"), ("42", "invalid_body")],
)
def test_views_bad_body(client: FlaskClient, data: str, code: str) -> None:
    resp = client.post("/api/videos/1/views", data=data, content_type="application/json")
    assert_400(resp, code)


def test_views_body_too_large(client: FlaskClient) -> None:
    resp = client.post(
        "/api/videos/1/views", data="{" + " " * 20000 + "}", content_type="application/json"
    )
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "request_entity_too_large"


def test_charset_parameter_is_accepted(client: FlaskClient) -> None:
    resp = client.post(
        "/api/videos/1/views", data="{}", content_type="application/json; charset=utf-8"
    )
    assert resp.status_code == 200


# --- hostile framing and near-miss input (the corpus in tests/faults runs the
# same against the real server) -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/videos/1%0A", "invalid_id"),
        ("/api/videos?limit=5%0A", "invalid_limit"),
        ("/api/videos?category=news%0A", "invalid_category"),
        ("/api/videos?cursor=" + b64("1700000000000000.5\n"), "invalid_cursor"),
    ],
)
def test_trailing_newline_is_rejected(client: FlaskClient, path: str, code: str) -> None:
    assert_400(client.get(path), code)


def test_view_with_trailing_newline_counts_nothing(client: FlaskClient) -> None:
    before = client.get("/api/videos/3").get_json()["views"]
    assert_400(client.post("/api/videos/3%0A/views", json={}), "invalid_id")
    assert client.get("/api/videos/3").get_json()["views"] == before


def test_no_redirect_from_client_host(client: FlaskClient) -> None:
    resp = client.get("//api//videos", headers={"Host": "evil.example"})
    assert resp.status_code == 404
    assert "Location" not in resp.headers
    assert resp.is_json


def test_chunked_body_is_411(client: FlaskClient) -> None:
    resp = client.post(
        "/api/videos/1/views",
        data=b"zz\r\n{}\r\n0\r\n\r\n",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert resp.status_code == 411
    assert resp.get_json()["error"]["code"] == "length_required"


def test_body_shorter_than_content_length_is_400(client: FlaskClient) -> None:
    before = client.get("/api/videos/4").get_json()["views"]
    resp = client.post(
        "/api/videos/4/views",
        input_stream=io.BytesIO(b"{}"),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": "100"},
    )
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.is_json
    assert client.get("/api/videos/4").get_json()["views"] == before
