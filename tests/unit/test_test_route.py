"""The blue/green test route is for operators only, proven both ways against the synthesized rules.

An in-process HTTP server plays the ALB: it evaluates the listener rules of the synthesized
template (priority order, path patterns, header conditions with ALB's case-insensitive `*`/`?`
matching, the weighted forward) with the dynamic references resolved from made-up secret values,
and answers with the name of the target group a request reaches, or the default 403. Then:

- a viewer who sends `X-Blue-Green-Test: green` (or anything else it can guess), and any request
  that comes through CloudFront or API Gateway (which overwrite the header), reaches production;
- an operator with the token, via `scripts/blue_green.py probe`, reaches the green target group.
"""

from __future__ import annotations

import fnmatch
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber

from lib.contract import EDGE_TEST_TRAFFIC_VALUE, ORIGIN_VERIFY_HEADER, TEST_TRAFFIC_HEADER
from scripts import blue_green as bg
from scripts import cli
from tests.unit import stubs
from tests.unit.support import SUFFIX, Synthesized

REGION = "ap-southeast-1"
VALUES = {
    f"origin-verify-{SUFFIX}": "5e2f0c3a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
    f"blue-green-test-{SUFFIX}": "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a49382",
    f"api-key-web-{SUFFIX}": "0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
}
GREEN, BLUE = f"tg-backend-green-{SUFFIX}", f"tg-backend-blue-{SUFFIX}"


class Alb:
    """The synthesized listener rules of one listener, evaluated like the ALB does."""

    def __init__(self, stack: Synthesized) -> None:
        self.stack = stack
        self.secrets = {k: v["Properties"]["Name"] for k, v in stack.of_type("AWS::SecretsManager::Secret").items()}
        rules = stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values()
        self.rules = sorted((r["Properties"] for r in rules), key=lambda r: r["Priority"])

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        head, ref, tail = value["Fn::Join"][1]
        assert head == "{{resolve:secretsmanager:" and tail == ":SecretString:::}}", value
        return VALUES[self.secrets[ref["Ref"]]]

    @staticmethod
    def matches(pattern: str, text: str) -> bool:
        # ALB: case-insensitive, `*` any run of characters, `?` exactly one.
        return fnmatch.fnmatchcase(text.lower(), pattern.lower())

    def route(self, path: str, headers: dict[str, str]) -> str:
        """The target group a request is forwarded to (weight 100), or '403' for the default action."""
        lower = {k.lower(): v for k, v in headers.items()}
        for rule in self.rules:
            if all(self._condition(c, path, lower) for c in rule["Conditions"]):
                (action,) = rule["Actions"]
                (group,) = [g for g in action["ForwardConfig"]["TargetGroups"] if g["Weight"] == 100]
                name: str = self.stack.resources[group["TargetGroupArn"]["Ref"]]["Properties"]["Name"]
                return name
        return "403"

    def _condition(self, condition: dict[str, Any], path: str, headers: dict[str, str]) -> bool:
        if condition["Field"] == "path-pattern":
            return any(self.matches(p, path) for p in condition["PathPatternConfig"]["Values"])
        assert condition["Field"] == "http-header", condition
        config = condition["HttpHeaderConfig"]
        sent = headers.get(config["HttpHeaderName"].lower())
        return sent is not None and any(self.matches(self.resolve(v), sent) for v in config["Values"])


@pytest.fixture(scope="module")
def alb(stack: Synthesized) -> Alb:
    return Alb(stack)


VERIFY = {ORIGIN_VERIFY_HEADER: VALUES[f"origin-verify-{SUFFIX}"]}


def test_without_the_origin_secret_nothing_is_served(alb: Alb) -> None:
    assert alb.route("/api/health", {TEST_TRAFFIC_HEADER: VALUES[f"blue-green-test-{SUFFIX}"]}) == "403"


@pytest.mark.parametrize(
    "guess", ["green", "GREEN", "true", "1", "*", EDGE_TEST_TRAFFIC_VALUE, VALUES[f"origin-verify-{SUFFIX}"]]
)
def test_a_viewer_value_reaches_production_not_green(alb: Alb, guess: str) -> None:
    # Through CloudFront or API Gateway the request carries the origin secret; the test header is
    # then the edge's value (EDGE_TEST_TRAFFIC_VALUE), and a direct caller can only guess.
    assert alb.route("/api/health", {**VERIFY, TEST_TRAFFIC_HEADER: guess}) == BLUE
    assert alb.route("/", {**VERIFY, TEST_TRAFFIC_HEADER: guess}) == f"tg-frontend-blue-{SUFFIX}"


def test_the_operator_token_reaches_green(alb: Alb) -> None:
    token = {TEST_TRAFFIC_HEADER: VALUES[f"blue-green-test-{SUFFIX}"]}
    assert alb.route("/api/health", {**VERIFY, **token}) == GREEN
    assert alb.route("/index.html", {**VERIFY, **token}) == f"tg-frontend-green-{SUFFIX}"


# --------------------------------------------------------------------------- scripts/blue_green.py probe


@dataclass
class Server:
    url: str
    seen: list[dict[str, str]]


@pytest.fixture
def server(alb: Alb) -> Iterator[Server]:
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = dict(self.headers.items())
            seen.append(headers)
            target = alb.route(self.path, headers)
            status = 403 if target == "403" else 200
            body = target.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(stubs.SERVER_POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield Server(f"127.0.0.1:{httpd.server_address[1]}", seen)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    secretsmanager, elbv2 = stubs.client("secretsmanager"), stubs.client("elbv2")
    with Stubber(secretsmanager) as sm, Stubber(elbv2) as lb:
        yield secretsmanager, elbv2, sm, lb
        sm.assert_no_pending_responses()
        lb.assert_no_pending_responses()


def expect_secrets(sm: Stubber, values: dict[str, str]) -> None:
    for name in (f"origin-verify-{SUFFIX}", f"blue-green-test-{SUFFIX}"):
        sm.add_response(
            "get_secret_value",
            {
                "Name": name,
                "SecretString": values[name],
                "ARN": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{name}-AbCdEf",
            },
            {"SecretId": name},
        )


def test_probe_reaches_green_through_the_alb_found_by_name(
    server: Server, clients: tuple[Any, Any, Stubber, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    secretsmanager, elbv2, sm, lb = clients
    expect_secrets(sm, VALUES)
    # The "DNS name" is the local stand-in for the ALB.
    lb.add_response(
        "describe_load_balancers",
        {"LoadBalancers": [{"LoadBalancerName": f"alb-{SUFFIX}", "DNSName": server.url}]},
        {"Names": [f"alb-{SUFFIX}"]},
    )
    code = bg.main(["probe", "--suffix", SUFFIX, "--path", "/api/health"], secretsmanager=secretsmanager, elbv2=elbv2)
    out = capsys.readouterr().out
    assert code == cli.EXIT_OK, out
    assert f"test route   GET http://{server.url}/api/health -> 200 '{GREEN}'" in out
    assert f"production   GET http://{server.url}/api/health -> 200 '{BLUE}'" in out
    # The token went in the test header, read from Secrets Manager, never from the command line.
    assert server.seen[0][TEST_TRAFFIC_HEADER] == VALUES[f"blue-green-test-{SUFFIX}"]
    assert TEST_TRAFFIC_HEADER not in server.seen[1]


def test_probe_with_a_token_the_rules_do_not_accept_exits_3(
    server: Server, clients: tuple[Any, Any, Stubber, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    secretsmanager, elbv2, sm, _ = clients
    stale = {**VALUES, f"origin-verify-{SUFFIX}": "0" * 48}
    expect_secrets(sm, stale)
    code = bg.main(
        ["probe", "--suffix", SUFFIX, "--base-url", f"http://{server.url}"], secretsmanager=secretsmanager, elbv2=elbv2
    )
    assert code == bg.EXIT_DRIFT
    assert "the ALB refused the test route" in capsys.readouterr().err


def test_probe_reports_a_missing_secret_as_input_error(
    clients: tuple[Any, Any, Stubber, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    secretsmanager, elbv2, sm, _ = clients
    sm.add_client_error("get_secret_value", service_error_code="ResourceNotFoundException", service_message="gone")
    assert bg.main(["probe", "--suffix", SUFFIX], secretsmanager=secretsmanager, elbv2=elbv2) == cli.EXIT_INPUT
    assert "ResourceNotFoundException" in capsys.readouterr().err
