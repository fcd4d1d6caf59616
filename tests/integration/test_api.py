"""API Gateway keys, the ALB's origin-verify guard and CORS."""

from __future__ import annotations

import warnings

import pytest
import urllib3

from lib.contract import Output
from tests.integration.harness import AwsClients, Http, Outputs, api_key_value, describe_response, join_url


def test_api_gateway_rejects_missing_key(outputs: Outputs, http: Http) -> None:
    url = join_url(outputs[Output.API_GATEWAY_ENDPOINT], "api/health")
    response = http.get(url)
    assert response.status_code == 403, f"GET {url} without x-api-key: expected status 403, found {describe_response(response)}"


def test_api_gateway_accepts_partner_key(outputs: Outputs, aws: AwsClients, http: Http) -> None:
    url = join_url(outputs[Output.API_GATEWAY_ENDPOINT], "api/health")
    response = http.get(url, headers={"x-api-key": api_key_value(aws, outputs[Output.PARTNER_API_KEY_ID])})
    assert response.status_code == 200, (
        f"GET {url} with the partner API key: expected status 200, found {describe_response(response)}"
    )


@pytest.mark.parametrize("path", ["/", "/api/health"])
def test_alb_rejects_requests_without_origin_verify_header(path: str, outputs: Outputs, http: Http) -> None:
    url = join_url(outputs[Output.ALB_URL], path)
    with warnings.catch_warnings():
        # With a certificate the ALB serves the product's domain, not its own DNS
        # name: this check is about the listener rule, not the certificate.
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        response = http.get(url, verify=not url.startswith("https://"))
    assert response.status_code == 403, (
        f"GET {url} without X-Origin-Verify: expected status 403, found {describe_response(response)}"
    )


@pytest.mark.parametrize(
    ("output_key", "path"),
    [
        pytest.param(Output.API_GATEWAY_ENDPOINT, "api/videos", id="api-gateway"),
        pytest.param(Output.CLOUDFRONT_URL, "/api/videos", id="cloudfront"),
    ],
)
def test_cors_preflight_allows_web_origin(output_key: Output, path: str, outputs: Outputs, http: Http) -> None:
    origin = outputs[Output.CLOUDFRONT_URL].rstrip("/")
    url = join_url(outputs[output_key], path)
    response = http.request("OPTIONS", url, headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
    found = f"{describe_response(response)}, Access-Control-Allow-Origin: {response.headers.get('Access-Control-Allow-Origin')!r}, Access-Control-Allow-Methods: {response.headers.get('Access-Control-Allow-Methods')!r}"
    assert response.status_code in (200, 204), f"OPTIONS {url} (preflight from {origin}): expected status 200/204, found {found}"
    assert response.headers.get("Access-Control-Allow-Origin") == origin, (
        f"OPTIONS {url}: expected Access-Control-Allow-Origin {origin!r}, found {found}"
    )
    methods = {m.strip().upper() for m in response.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert methods & {"GET", "*"}, f"OPTIONS {url}: expected GET in Access-Control-Allow-Methods, found {found}"
