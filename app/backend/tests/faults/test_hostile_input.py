"""The hostile-input corpus against the real server: never a 500, never HTML,
never a redirect, never a silent truncation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import ApiServer, get, parse_response, raw_exchange

CORPUS = json.loads((Path(__file__).parent / "corpus" / "hostile_requests.json").read_text())
CASES: list[dict[str, Any]] = CORPUS["cases"]


def expand(text: str) -> bytes:
    return re.sub(r"\{PAD:(\d+)\}", lambda m: "a" * int(m[1]), text).encode("latin-1")


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory, seeded_pg: Any) -> Any:
    server = ApiServer(seeded_pg, tmp_path_factory.mktemp("hostile") / "server.log").start()
    yield server
    server.stop()
    # Nothing the corpus sends may reach the app's 500 handler.
    assert not [line for line in server.log_lines() if "unhandled error" in line]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_request(hostile_server: ApiServer, case: dict[str, Any]) -> None:
    views = views_of_video_1(hostile_server.port)
    status, headers, body = parse_response(
        raw_exchange(
            hostile_server.port, expand(case["request"]), half_close=case.get("half_close", False)
        )
    )
    assert status in case["expect"], (status, headers, body[:300])
    assert status is not None
    assert status != 500
    assert "location" not in headers
    if case.get("server"):
        # granian answers malformed HTTP itself, with an empty body.
        assert body == b"", body[:200]
    else:
        assert headers.get("content-type") == "application/json", headers
        parsed = json.loads(body)
        if status >= 400:
            assert set(parsed["error"]) == {"code", "message"}
    if status != 200:
        # A refused request never counts a view.
        assert views_of_video_1(hostile_server.port) == views


def views_of_video_1(port: int) -> int:
    reply = get(port, "/api/videos/1")
    assert reply.status == 200, reply
    return int(json.loads(reply.body)["views"])


Start = Callable[..., ApiServer]
