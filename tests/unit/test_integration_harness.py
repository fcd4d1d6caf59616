"""The integration harness, proven offline: its helpers, the outputs tooling, and the suite itself.

There is no AWS account here, so the integration suite is run as a subprocess
against an outputs file whose every endpoint is a closed port on 127.0.0.1: each
check must then fail with a message that says what it tried and what it found
(never skip), only the opt-in rate-limit check may skip, and without the outputs
file everything skips with the reason naming the file.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.stub import Stubber

from lib.contract import REGION, Output
from scripts import cli
from scripts import flatten_outputs as fo
from tests.integration import harness
from tests.integration.harness import AwsClients, CheckFailed, Outputs
from tests.unit import stubs, wait_meter

REPO_ROOT = Path(__file__).resolve().parents[2]

VITE_INDEX = """<!doctype html>
<html lang="en">
  <head>
    <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
    <title>TAP Stream</title>
    <script type="module" crossorigin src="/assets/index--12xLXy3.js"></script>
    <link rel="modulepreload" crossorigin href="/assets/vendor-Ab12Cd34.js">
    <link rel="stylesheet" crossorigin href="/assets/index-BfEJdEvZ.css">
    <script src="https://cdn.example.com/assets/other-1234.js"></script>
  </head>
  <body><div id="root"></div></body>
</html>
"""


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


# --------------------------------------------------------------------------- outputs and region


def test_outputs_path_defaults_to_cfn_outputs_under_the_root(tmp_path: Path) -> None:
    assert harness.outputs_path({}, root=tmp_path) == tmp_path / "cfn-outputs" / "flat-outputs.json"
    assert harness.outputs_path({"TAP_OUTPUTS_FILE": "  "}, root=tmp_path) == tmp_path / "cfn-outputs" / "flat-outputs.json"


def test_outputs_path_is_overridable_by_env(tmp_path: Path) -> None:
    assert harness.outputs_path({"TAP_OUTPUTS_FILE": "x/out.json"}, root=tmp_path) == tmp_path / "x" / "out.json"
    assert harness.outputs_path({"TAP_OUTPUTS_FILE": "/abs/out.json"}, root=tmp_path) == Path("/abs/out.json")


def test_absent_outputs_reason_names_the_file_and_how_to_create_it(tmp_path: Path) -> None:
    reason = harness.absent_outputs_reason(tmp_path / "flat-outputs.json")
    assert str(tmp_path / "flat-outputs.json") in reason
    assert "make deploy" in reason and "make outputs" in reason and "TAP_OUTPUTS_FILE" in reason


def test_outputs_load_a_flat_file(tmp_path: Path) -> None:
    path = tmp_path / "flat.json"
    path.write_text(json.dumps({"VpcId": "vpc-1", "RdsPort": 5432}))
    outputs = Outputs(path)
    assert outputs[Output.VPC_ID] == "vpc-1"
    assert outputs[Output.RDS_PORT] == "5432"
    assert outputs.get(Output.REGION) is None


def test_missing_output_key_fails_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "flat.json"
    path.write_text(json.dumps({"VpcId": "vpc-1", "Region": ""}))
    with pytest.raises(CheckFailed, match=r"have no key 'PartnerApiKeyId'.*keys present: Region, VpcId") as error:
        Outputs(path)[Output.PARTNER_API_KEY_ID]
    assert str(path) in str(error.value)
    with pytest.raises(CheckFailed, match="key 'Region' is empty"):
        Outputs(path)[Output.REGION]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "expected a JSON object of output key → value, found list"),
        ('{"TapStackpr123": {"VpcId": "vpc-1"}}', r"nested objects under \['TapStackpr123'\].*flatten_outputs.py"),
    ],
)
def test_broken_outputs_file_fails_every_check_that_reads_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "flat.json"
    path.write_text(text)
    with pytest.raises(CheckFailed, match=message):
        Outputs(path)[Output.VPC_ID]


def test_unreadable_outputs_file_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(CheckFailed, match="cannot read stack outputs"):
        Outputs(tmp_path / "gone.json")[Output.VPC_ID]


@pytest.mark.parametrize(
    ("outputs", "environ", "expected"),
    [
        ({"Region": "eu-west-1"}, {"AWS_REGION": "us-east-1"}, "eu-west-1"),
        ({}, {"AWS_REGION": "us-east-1"}, "us-east-1"),
        ({"Region": " "}, {"AWS_REGION": "us-east-1"}, "us-east-1"),
        ({}, {}, "ap-southeast-1"),
    ],
)
def test_region_from_outputs_then_env_then_default(outputs: dict[str, str], environ: dict[str, str], expected: str) -> None:
    assert harness.resolve_region(outputs, environ) == expected


def test_repository_name_from_uri() -> None:
    assert harness.repository_name("123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/frontend-pr123") == "frontend-pr123"
    with pytest.raises(CheckFailed, match="expected an ECR repository URI"):
        harness.repository_name("frontend-pr123")


def test_join_url_puts_one_slash_between() -> None:
    stage = "https://abc.execute-api.ap-southeast-1.amazonaws.com/prod/"
    assert harness.join_url(stage, "api/health") == "https://abc.execute-api.ap-southeast-1.amazonaws.com/prod/api/health"
    assert harness.join_url("https://d1.cloudfront.net", "/api/videos") == "https://d1.cloudfront.net/api/videos"


# --------------------------------------------------------------------------- HTTP helpers


def test_asset_urls_extracted_from_vite_index() -> None:
    assert harness.extract_asset_urls(VITE_INDEX, "https://d1.cloudfront.net/") == [
        "https://d1.cloudfront.net/assets/index--12xLXy3.js",
        "https://d1.cloudfront.net/assets/vendor-Ab12Cd34.js",
    ]
    assert harness.extract_asset_urls(VITE_INDEX, "https://d1.cloudfront.net/", suffix=".css") == [
        "https://d1.cloudfront.net/assets/index-BfEJdEvZ.css"
    ]


def test_asset_urls_resolve_relative_references_and_ignore_others() -> None:
    html = '<script src="assets/app-1.js"></script><script src="/static/x.js"></script><img src="/assets/a.js">'
    assert harness.extract_asset_urls(html, "https://d1.cloudfront.net") == ["https://d1.cloudfront.net/assets/app-1.js"]
    assert harness.extract_asset_urls("<html><body>no scripts</body></html>", "https://d1.cloudfront.net/") == []


@pytest.mark.parametrize(
    ("value", "hit"),
    [
        ("Hit from cloudfront", True),
        ("hit from CloudFront ", True),
        ("Miss from cloudfront", False),
        ("RefreshHit from cloudfront", False),
        ("Error from cloudfront", False),
        (None, False),
    ],
)
def test_cache_hit_detection(value: str | None, hit: bool) -> None:
    headers = requests.structures.CaseInsensitiveDict({"X-Cache": value} if value is not None else {})
    assert harness.is_cache_hit(headers) is hit
    assert harness.is_cache_hit({"x-cache": value} if value is not None else {}) is hit


def test_cache_control_directives() -> None:
    assert harness.cache_control_directives("public, max-age=31536000, immutable") == {
        "public": None,
        "max-age": "31536000",
        "immutable": None,
    }
    assert harness.cache_control_directives(None) == {}
    assert "immutable" not in harness.cache_control_directives("no-cache")


def test_cache_hit_repeats_wait_the_real_delay_unless_the_setting_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    miss = _response(200, headers={"X-Cache": "Miss from cloudfront"})
    monkeypatch.delenv(harness.CACHE_HIT_RETRY_DELAY_ENV, raising=False)
    with pytest.raises(CheckFailed, match="expected 'X-Cache: Hit from cloudfront' on a repeat request"):
        harness.require_cache_hit("https://d1.cloudfront.net/a.js", miss, lambda: miss)
    assert slept == [harness.CACHE_HIT_RETRY_DELAY] * harness.CACHE_HIT_RETRIES and harness.CACHE_HIT_RETRY_DELAY > 0
    slept.clear()
    monkeypatch.setenv(harness.CACHE_HIT_RETRY_DELAY_ENV, "0")
    with pytest.raises(CheckFailed):
        harness.require_cache_hit("https://d1.cloudfront.net/a.js", miss, lambda: miss)
    assert slept == [0.0] * harness.CACHE_HIT_RETRIES
    for bad in ("-1", "soon", "nan", "1e9"):
        with pytest.raises(CheckFailed, match=f"{harness.CACHE_HIT_RETRY_DELAY_ENV} must be a number of seconds from 0 to"):
            harness.cache_hit_retry_delay({harness.CACHE_HIT_RETRY_DELAY_ENV: bad})


def test_describe_response_shows_status_headers_and_body() -> None:
    response = _response(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html", "X-Cache": "Error from cloudfront"})
    text = harness.describe_response(response)
    assert text.startswith("status 502")
    assert "'Error from cloudfront'" in text and "Bad gateway" in text
    assert harness.is_html(response)
    assert not harness.is_html(_response(200, b"{}", {"Content-Type": "application/json"}))


def test_http_transport_error_names_the_request(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/health"
    http = harness.Http(timeout=(1.0, 1.0))
    with pytest.raises(CheckFailed, match=rf"GET {url} failed: ConnectionError"):
        http.get(url)
    assert http.session.headers["User-Agent"] == harness.USER_AGENT
    http.close()


# --------------------------------------------------------------------------- AWS helpers


def test_aws_call_error_names_the_call_region_and_cause() -> None:
    ecs = stubs.client("ecs")
    with Stubber(ecs) as stub:
        stub.add_client_error("describe_services", "ClusterNotFoundException", "Cluster not found.")
        with pytest.raises(CheckFailed) as error:
            harness.aws_call(ecs, "describe_services", cluster="ecs-cluster-pr123", services=["frontend-pr123"])
    message = str(error.value)
    assert "ecs.describe_services(cluster='ecs-cluster-pr123', services=['frontend-pr123'])" in message
    assert "ap-southeast-1" in message and "ClusterNotFoundException" in message


def test_aws_collect_reads_every_page() -> None:
    ec2 = stubs.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_subnets", {"Subnets": [{"SubnetId": "subnet-1"}], "NextToken": "t"})
        stub.add_response("describe_subnets", {"Subnets": [{"SubnetId": "subnet-2"}]})
        subnets = harness.aws_collect(ec2, "describe_subnets", "Subnets")
    assert [s["SubnetId"] for s in subnets] == ["subnet-1", "subnet-2"]


def test_production_target_groups_follow_the_rule_weights() -> None:
    rule = {
        "Actions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": "blue", "Weight": 0}, {"TargetGroupArn": "green", "Weight": 1}]
                },
            }
        ]
    }
    assert harness.production_target_groups(rule) == {"green"}
    assert harness.production_target_groups({"Actions": [{"Type": "forward", "TargetGroupArn": "blue"}]}) == {"blue"}
    assert harness.production_target_groups({"Actions": [{"Type": "fixed-response"}]}) == set()


def test_summarize_targets() -> None:
    described = [
        {"Target": {"Id": "10.0.1.5", "Port": 8080}, "TargetHealth": {"State": "healthy"}},
        {"Target": {"Id": "10.0.2.7", "Port": 8080}, "TargetHealth": {"State": "unhealthy", "Reason": "Target.Timeout"}},
    ]
    assert harness.summarize_targets(described) == ["10.0.1.5:8080=healthy", "10.0.2.7:8080=unhealthy (Target.Timeout)"]


# --------------------------------------------------------------------------- paced burst


@dataclass
class _Status:
    status_code: int


def test_paced_burst_stops_at_the_first_429() -> None:
    def send(index: int) -> _Status:
        return _Status(429 if index >= 1005 else 200)

    result = harness.paced_burst(send, total=1300, duration=0.0, workers=20)
    assert result.stop_index is not None and result.stop_response.status_code == 429
    assert result.error is None
    # Dispatch is in order, but a worker can take a lower index and see the stop before it
    # sends (at most one per worker), and requests in flight may still complete.
    workers = 20
    assert 1005 - workers <= result.statuses[200] <= 1005
    assert result.sent == result.statuses[200] + result.statuses[429]
    assert result.sent <= 1006 + workers


def test_paced_burst_is_bounded_and_stops_on_errors() -> None:
    result = harness.paced_burst(lambda i: _Status(200), total=50, duration=0.0, workers=5)
    assert result.sent == 50 and result.stop_index is None

    calls = []

    def broken(index: int) -> _Status:
        calls.append(index)
        raise ConnectionError("refused")

    result = harness.paced_burst(broken, total=1300, duration=0.0, workers=20)
    assert result.error is not None and "refused" in result.error
    assert len(calls) <= 20


def test_paced_burst_spreads_requests_over_the_duration() -> None:
    started = time.monotonic()
    harness.paced_burst(lambda i: _Status(200), total=5, duration=0.5, workers=2)
    assert time.monotonic() - started >= 0.35


# --------------------------------------------------------------------------- scripts/flatten_outputs.py

CDK_DOCUMENT = {"TapStackpr123": {"VpcId": "vpc-1", "RdsPort": 5432, "Region": "ap-southeast-1"}}


def test_flatten_cdk_outputs_of_the_only_stack() -> None:
    assert fo.flatten_cdk_outputs(CDK_DOCUMENT) == {"VpcId": "vpc-1", "RdsPort": "5432", "Region": "ap-southeast-1"}


def test_flatten_cdk_outputs_of_a_named_stack() -> None:
    document = {**CDK_DOCUMENT, "Other": {"X": "y"}}
    assert fo.flatten_cdk_outputs(document, "Other") == {"X": "y"}
    with pytest.raises(fo.OutputsError, match=r"hold 2 stacks \(Other, TapStackpr123\); choose one with --stack-name"):
        fo.flatten_cdk_outputs(document)
    with pytest.raises(fo.OutputsError, match="stack TapStackdev not in the cdk outputs; stacks present: Other, TapStackpr123"):
        fo.flatten_cdk_outputs(document, "TapStackdev")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"VpcId": "vpc-1"}, "expected a cdk outputs document"),
        ([], "expected a cdk outputs document"),
        ({"TapStackpr123": {}}, "has no outputs"),
        ({"TapStackpr123": {"A": {"nested": 1}}}, "output 'A' is not a scalar"),
    ],
)
def test_flatten_cdk_outputs_rejects_bad_documents(document: Any, message: str) -> None:
    with pytest.raises(fo.OutputsError, match=message):
        fo.flatten_cdk_outputs(document)


def test_flatten_stack_description() -> None:
    stack = {
        "StackName": "TapStackpr123",
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": [{"OutputKey": "VpcId", "OutputValue": "vpc-1"}, {"OutputKey": "Region", "OutputValue": "ap-southeast-1"}],
    }
    assert fo.flatten_stack_description(stack) == {"VpcId": "vpc-1", "Region": "ap-southeast-1"}
    with pytest.raises(fo.OutputsError, match=r"stack TapStackpr123 has no outputs \(status ROLLBACK_COMPLETE\)"):
        fo.flatten_stack_description({"StackName": "TapStackpr123", "StackStatus": "ROLLBACK_COMPLETE"})


def _describe_stacks_response(name: str) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": "2025-01-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": "VpcId", "OutputValue": "vpc-1"}, {"OutputKey": "StackName", "OutputValue": name}],
            }
        ]
    }


def test_describe_stack_outputs_through_describe_stacks() -> None:
    cloudformation = stubs.client("cloudformation")
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", _describe_stacks_response("TapStackpr123"), {"StackName": "TapStackpr123"})
        assert fo.describe_stack_outputs(cloudformation, "TapStackpr123") == {"VpcId": "vpc-1", "StackName": "TapStackpr123"}


def test_describe_stack_outputs_missing_stack_is_an_input_error() -> None:
    cloudformation = stubs.client("cloudformation")
    with Stubber(cloudformation) as stub:
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id TapStackpr9 does not exist", 400)
        with pytest.raises(fo.OutputsError, match="stack TapStackpr9 not found in ap-southeast-1"):
            fo.describe_stack_outputs(cloudformation, "TapStackpr9")


def test_describe_stack_outputs_other_aws_errors_are_aws_errors() -> None:
    cloudformation = stubs.client("cloudformation")
    with Stubber(cloudformation) as stub:
        stub.add_client_error("describe_stacks", "AccessDenied", "not authorized", 403)
        with pytest.raises(cli.AwsError, match=r"describe_stacks\(TapStackpr123\) in ap-southeast-1 failed.*AccessDenied"):
            fo.describe_stack_outputs(cloudformation, "TapStackpr123")


def test_cli_flattens_a_cdk_outputs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "all-outputs.json", tmp_path / "out" / "flat-outputs.json"
    source.write_text(json.dumps(CDK_DOCUMENT))
    assert fo.main(["--cdk-outputs", str(source), "--stack-name", "TapStackpr123", "-o", str(target)]) == 0
    assert json.loads(target.read_text()) == {"Region": "ap-southeast-1", "RdsPort": "5432", "VpcId": "vpc-1"}
    assert f"wrote 3 outputs to {target}" in capsys.readouterr().out


def test_cli_reads_a_deployed_stack(tmp_path: Path) -> None:
    cloudformation = stubs.client("cloudformation")
    regions: list[str] = []

    def factory(region: str) -> Any:
        regions.append(region)
        return cloudformation

    target = tmp_path / "flat.json"
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", _describe_stacks_response("TapStackpr123"), {"StackName": "TapStackpr123"})
        assert fo.main(["--stack-name", "TapStackpr123", "-o", str(target)], client_factory=factory) == 0
    assert regions == ["ap-southeast-1"]
    assert json.loads(target.read_text())["VpcId"] == "vpc-1"


def test_cli_missing_stack_exits_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cloudformation = stubs.client("cloudformation")
    target = tmp_path / "flat.json"
    with Stubber(cloudformation) as stub:
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id TapStackpr9 does not exist", 400)
        code = fo.main(["--stack-name", "TapStackpr9", "-o", str(target)], client_factory=lambda region: cloudformation)
    assert code == 2
    assert "error: stack TapStackpr9 not found in ap-southeast-1" in capsys.readouterr().err
    assert not target.exists()


def test_cli_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fo.main(["--cdk-outputs", str(tmp_path / "nope.json"), "-o", str(tmp_path / "flat.json")]) == 2
    assert "cannot read cdk outputs file" in capsys.readouterr().err


def test_cli_without_a_source_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        fo.main([])
    assert exit_info.value.code == 2
    assert "give --cdk-outputs FILE, or --stack-name" in capsys.readouterr().err


# --------------------------------------------------------------------------- the suite, offline

# Every check of tests/integration except the opt-in one. Adding a check? Add it here:
# this list is what proves that, against an unreachable stack, each one fails.
EXPECTED_FAILING_CHECKS = {
    "test_api::test_alb_rejects_requests_without_origin_verify_header[/]",
    "test_api::test_alb_rejects_requests_without_origin_verify_header[/api/health]",
    "test_api::test_api_gateway_accepts_partner_key",
    "test_api::test_api_gateway_rejects_missing_key",
    "test_api::test_cors_preflight_allows_web_origin[api-gateway]",
    "test_api::test_cors_preflight_allows_web_origin[cloudfront]",
    "test_cdn::test_a_deep_link_is_the_app_shell_from_its_one_cache_object",
    "test_cdn::test_hashed_asset_is_immutable_and_cached",
    "test_cdn::test_health_through_cloudfront[/api/health]",
    "test_cdn::test_health_through_cloudfront[/health]",
    "test_cdn::test_home_page_is_html",
    "test_cdn::test_unknown_api_path_shows_custom_404_page",
    "test_cdn::test_videos_api_returns_items",
    "test_media::test_manifest_is_403_without_signature_and_200_with",
    "test_media::test_media_bucket_refuses_direct_requests",
    "test_media::test_segment_is_a_cache_hit_on_the_second_request",
    "test_database::test_aurora_available_with_writer_and_reader",
    "test_database::test_aurora_storage_encrypted",
    "test_database::test_db_secret_rotation_enabled",
    "test_network::test_nat_gateways_available",
    "test_network::test_vpc_has_six_subnets_across_three_azs",
    "test_observability::test_dashboard_exists",
    "test_observability::test_stack_log_groups_keep_30_days",
    "test_registry::test_repository_scans_on_push_with_immutable_tags[backend]",
    "test_registry::test_repository_scans_on_push_with_immutable_tags[frontend]",
    "test_registry::test_running_image_is_a_scanned_image_of_the_project_repository[backend]",
    "test_registry::test_running_image_is_a_scanned_image_of_the_project_repository[frontend]",
    "test_services::test_service_active_at_desired_count[backend]",
    "test_services::test_service_active_at_desired_count[frontend]",
    "test_services::test_service_targets_healthy[backend]",
    "test_services::test_service_targets_healthy[frontend]",
    "test_services::test_service_uses_blue_green[backend]",
    "test_services::test_service_uses_blue_green[frontend]",
}
OPT_IN_CHECK = "test_rate_limit::test_waf_rate_limits_one_ip"


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it), never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def unreachable_outputs(port: int, suffix: str = "pr123") -> dict[str, str]:
    """Every key of the outputs contract; every URL points at the closed port."""
    base = f"http://127.0.0.1:{port}"
    account, region = "123456789012", "ap-southeast-1"
    return {
        "StackName": f"TapStack{suffix}",
        "Region": region,
        "EnvironmentSuffix": suffix,
        "VpcId": "vpc-0123456789abcdef0",
        "CloudFrontURL": base,
        "CloudFrontDomainName": f"127.0.0.1:{port}",
        "CloudFrontDistributionId": "E1234567890ABC",
        "ApiGatewayEndpoint": f"{base}/prod/",
        "ApiGatewayRestApiId": "abc123defg",
        "WebApiKeyId": "webkey123",
        "PartnerApiKeyId": "partnerkey123",
        "AlbDnsName": f"127.0.0.1:{port}",
        "AlbUrl": base,
        "RdsEndpoint": "127.0.0.1",
        "RdsReaderEndpoint": "127.0.0.1",
        "RdsPort": "5432",
        "DbClusterIdentifier": f"aurora-{suffix}",
        "DbSecretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:db-{suffix}-AbCdEf",
        "EcsClusterName": f"ecs-cluster-{suffix}",
        "FrontendServiceName": f"frontend-{suffix}",
        "BackendServiceName": f"backend-{suffix}",
        "FrontendRepositoryUri": f"{account}.dkr.ecr.{region}.amazonaws.com/frontend-{suffix}",
        "BackendRepositoryUri": f"{account}.dkr.ecr.{region}.amazonaws.com/backend-{suffix}",
        "DashboardName": f"dashboard-{suffix}",
        "AlarmTopicArn": f"arn:aws:sns:{region}:{account}:alarms-{suffix}",
        "WafWebAclArn": f"arn:aws:wafv2:{region}:{account}:regional/webacl/waf-api-{suffix}/abc",
        "ErrorPagesBucketName": f"error-pages-{suffix}",
        "MediaBucketName": f"media-{suffix}",
        "MediaKeyGroupId": "0123abcd-4567-89ef-0123-456789abcdef",
    }


@dataclass
class SuiteRun:
    returncode: int
    stdout: str
    failed: dict[str, str]  # check → failure message
    skipped: dict[str, str]  # check → skip reason
    passed: set[str]
    errors: dict[str, str]
    check_seconds: dict[str, float]  # check → its own duration (setup, call, teardown) from the report
    slept: dict[str, float]  # check → seconds it asked time.sleep for (retry back-off, polling), load-independent


def run_suite(tmp_path: Path, port: int, outputs_file: Path, *args: str, **env: str) -> SuiteRun:
    """`pytest tests/integration` in a subprocess, isolated from any real AWS config and proxy."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "TAP_", "PYTEST_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    environ.update(
        TAP_OUTPUTS_FILE=str(outputs_file),
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONDONTWRITEBYTECODE="1",
    )
    environ.update(env)
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*.xml')))}.xml"
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "tests/integration", "-p", "no:cacheprovider", "-p", "tests.unit.wait_meter"),
            # The checks' messages are read from the JUnit report; a one-line traceback spares pytest
            # rendering the source of every frame of every failure.
            *(f"--junitxml={report}", "--tb=line", *args),
        ],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    run = SuiteRun(completed.returncode, completed.stdout + completed.stderr, {}, {}, set(), {}, {}, {})
    # The report is the one this function just had pytest write, not outside input.
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314
        check = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        run.check_seconds[check] = float(case.get("time", "0"))
        slept = [p.get("value", "") for p in case.iter("property") if p.get("name") == wait_meter.SLEPT_PROPERTY]
        run.slept[check] = float(slept[0]) if slept else float("nan")
        failure, skipped, error = case.find("failure"), case.find("skipped"), case.find("error")
        if failure is not None:
            run.failed[check] = failure.get("message", "")
        elif error is not None:
            run.errors[check] = error.get("message", "")
        elif skipped is not None:
            run.skipped[check] = skipped.get("message", "")
        else:
            run.passed.add(check)
    return run


@pytest.fixture(scope="module")
def unreachable_run(tmp_path_factory: pytest.TempPathFactory, closed_port: int) -> SuiteRun:
    tmp_path = tmp_path_factory.mktemp("unreachable")
    outputs_file = tmp_path / "flat-outputs.json"
    outputs_file.write_text(json.dumps(unreachable_outputs(closed_port)))
    return run_suite(tmp_path, closed_port, outputs_file)


def test_unreachable_stack_fails_every_check_and_skips_only_the_opt_in(unreachable_run: SuiteRun) -> None:
    run = unreachable_run
    assert run.returncode == 1, f"expected pytest exit code 1 (failures), found {run.returncode}:\n{run.stdout[-3000:]}"
    assert not run.errors, f"expected failures, not errors: {run.errors}"
    assert not run.passed, f"expected nothing to pass against an unreachable stack, found {sorted(run.passed)}"
    assert set(run.failed) == EXPECTED_FAILING_CHECKS, (
        f"failed checks differ from the expected list: missing {sorted(EXPECTED_FAILING_CHECKS - set(run.failed))}, "
        f"unexpected {sorted(set(run.failed) - EXPECTED_FAILING_CHECKS)}"
    )
    assert list(run.skipped) == [OPT_IN_CHECK], f"expected only the opt-in check skipped, found {run.skipped}"
    assert "TAP_RUN_RATE_LIMIT_TEST=1" in run.skipped[OPT_IN_CHECK]
    assert f"{len(EXPECTED_FAILING_CHECKS)} failed, 1 skipped" in run.stdout


def test_unreachable_stack_failures_say_what_was_tried_and_why(unreachable_run: SuiteRun, closed_port: int) -> None:
    address = f"127.0.0.1:{closed_port}"
    for check, message in unreachable_run.failed.items():
        assert address in message, f"{check}: failure message does not name the endpoint it tried: {message!r}"
        is_aws = message.startswith("tests.integration.harness.CheckFailed: AWS call ")
        is_http = " failed: ConnectionError" in message
        assert is_aws or is_http, f"{check}: failure message does not say which call failed and why: {message!r}"
        if is_aws:
            assert "in ap-southeast-1 failed: EndpointConnectionError" in message, message
    messages = unreachable_run.failed
    assert (
        "ecs.describe_services(cluster='ecs-cluster-pr123', services=['backend-pr123'])"
        in messages["test_services::test_service_uses_blue_green[backend]"]
    )
    assert f"GET http://{address}/prod/api/health failed" in messages["test_api::test_api_gateway_rejects_missing_key"]


# An unreachable endpoint refuses at once: a check that waits at all is retrying or timing out.
MAX_SLEPT_PER_RUN = 0.5  # seconds of time.sleep over the whole offline run (back-off, polling)
MAX_CHECK_SECONDS = min(harness.HTTP_TIMEOUT[0], float(harness.AWS_CONFIG.connect_timeout))  # one connect timeout


def assert_gives_up_at_once(run: SuiteRun) -> None:
    """No retry back-off, no polling and no timeout: measured per check, without interpreter start-up and collection.

    Sleep is requested time, the same on a busy machine; a check's own duration bounds what sleep does not
    see (a socket timeout) with a margin of one connect timeout over the milliseconds a refusal takes.
    """
    assert run.slept and run.check_seconds, f"the report lists no check:\n{run.stdout[-3000:]}"
    unmetered = sorted(check for check, seconds in run.slept.items() if math.isnan(seconds))
    assert not unmetered, f"checks without the wait meter's property (plugin not loaded?): {unmetered}"
    slept = {check: seconds for check, seconds in run.slept.items() if seconds > 0}
    assert sum(slept.values()) < MAX_SLEPT_PER_RUN, f"checks slept (retry back-off or polling) against a closed port: {slept}"
    slow = {check: seconds for check, seconds in run.check_seconds.items() if seconds >= MAX_CHECK_SECONDS}
    assert not slow, f"checks took a connect timeout ({MAX_CHECK_SECONDS} s) or longer against a closed port: {slow}"


def test_unreachable_suite_is_fast(unreachable_run: SuiteRun) -> None:
    assert_gives_up_at_once(unreachable_run)


def test_without_outputs_file_every_check_fails_naming_the_file(tmp_path: Path, closed_port: int) -> None:
    """A pipeline whose outputs step went wrong must not pass having checked nothing (the opt-in check included)."""
    absent = tmp_path / "cfn-outputs" / "flat-outputs.json"
    run = run_suite(tmp_path, closed_port, absent)
    assert run.returncode == 1, run.stdout[-3000:]
    assert not run.failed and not run.skipped and not run.passed
    assert set(run.errors) == EXPECTED_FAILING_CHECKS | {OPT_IN_CHECK}
    for check, reason in run.errors.items():
        assert str(absent) in reason and "flatten_outputs.py --cdk-outputs" in reason, (
            f"{check}: the failure does not name the file and how to create it: {reason!r}"
        )


def test_missing_output_key_fails_naming_the_key_and_opt_in_check_runs(tmp_path: Path, closed_port: int) -> None:
    """One run for two facts: a missing key is a failure naming it; opted in, the rate check runs and fails fast."""
    outputs = unreachable_outputs(closed_port)
    del outputs["PartnerApiKeyId"]
    outputs_file = tmp_path / "flat-outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    run = run_suite(tmp_path, closed_port, outputs_file, "-k", "partner_key or rate_limit", TAP_RUN_RATE_LIMIT_TEST="1")
    assert run.returncode == 1 and not run.skipped and not run.errors and not run.passed
    assert set(run.failed) == {"test_api::test_api_gateway_accepts_partner_key", OPT_IN_CHECK}
    for check, message in run.failed.items():
        assert "have no key 'PartnerApiKeyId'" in message, f"{check}: {message!r}"
    assert_gives_up_at_once(run)


# --------------------------------------------------------------------------- the HTTP checks, against a local fake


DEMO_ID = json.loads((REPO_ROOT / "app" / "backend" / "catalog" / "demo_media.json").read_text())["videos"][0]["id"]
SIGNED = ("CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id")


class _FakeHandler(BaseHTTPRequestHandler):
    """One origin of a fake deployment; `server.role` is cloudfront, api, alb or aws; `server.good` its behaviour."""

    server: _FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: str, content_type: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body), "application/json", headers)

    def do_GET(self) -> None:
        role, good, path = self.server.role, self.server.good, self.path.split("?")[0]
        if role == "cloudfront" and path.startswith("/media/"):
            self._media(path)
        elif role == "aws" and path.startswith("/media-pr123/media/"):
            # S3 itself, path-style: the bucket answers only CloudFront (OAC).
            self._send(403 if good else 200, "<Error><Code>AccessDenied</Code></Error>", "application/xml")
        elif role == "aws" and path == "/apikeys/partnerkey123":
            self._json(200, {"id": "partnerkey123", "value": "partner-secret", "enabled": True})
        elif role == "alb":
            self._send(403 if good else 200, "Forbidden", "text/plain")
        elif role == "api" and path == "/prod/api/health":
            authorized = self.headers.get("x-api-key") == "partner-secret" or not good
            self._json(200, {"status": "ok"}) if authorized else self._json(403, {"message": "Forbidden"})
        elif role == "cloudfront" and path == "/":
            self._send(200, VITE_INDEX, "text/html; charset=utf-8", {"Cache-Control": "no-cache"})
        elif role == "cloudfront" and path.startswith("/videos/"):
            # Good: every client route is one cache object (/index.html), so the second deep link hits.
            self.server.deep_link_requests += 1
            hit = good and self.server.deep_link_requests > 1
            self._send(200, VITE_INDEX, "text/html; charset=utf-8", {"X-Cache": f"{'Hit' if hit else 'Miss'} from cloudfront"})
        elif role == "cloudfront" and path in ("/health", "/api/health"):
            self._json(200, {"status": "ok"})
        elif role == "cloudfront" and path == "/api/videos":
            self._json(200, {"items": [], "next_cursor": None})
        elif role == "cloudfront" and path.startswith("/assets/"):
            self.server.asset_requests += 1
            x_cache = "Hit from cloudfront" if self.server.asset_requests > 2 else "Miss from cloudfront"
            cache_control = "public, max-age=31536000, immutable" if good else "public, max-age=60"
            self._send(200, "export{}", "text/javascript", {"Cache-Control": cache_control, "X-Cache": x_cache})
        elif role == "cloudfront" and path.startswith("/api/") and good:
            self._send(
                404, "<html><title>Page not found · TAP Stream</title></html>", "text/html", {"X-Cache": "Error from cloudfront"}
            )
        else:
            self._json(404, {"error": {"code": "not_found", "message": "no route"}})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        if self.server.role == "cloudfront" and path == f"/api/videos/{DEMO_ID}/play":
            cookies = [f"{name}={name.lower()}-value; Path=/media/{DEMO_ID}/; Secure; HttpOnly" for name in SIGNED]
            body = json.dumps({"id": DEMO_ID, "views": 1, "manifest_url": f"/media/{DEMO_ID}/h1/master.m3u8"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(body)
        else:
            self._json(404, {"error": {"code": "not_found", "message": "no route"}})

    def _media(self, path: str) -> None:
        """CloudFront's /media/*: 403 without the signed cookies of this video (when good), playlists and segments."""
        signed = all(name in self.headers.get("Cookie", "") for name in SIGNED) and path.startswith(f"/media/{DEMO_ID}/")
        if self.server.good and not signed:
            self._send(403, "<html>Forbidden</html>", "text/html")
        elif path.endswith("master.m3u8"):
            self._send(200, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index.m3u8\n", "application/vnd.apple.mpegurl")
        elif path.endswith("index.m3u8"):
            self._send(200, "#EXTM3U\n#EXTINF:4.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n", "application/vnd.apple.mpegurl")
        elif path.endswith(".ts"):
            self.server.segment_requests += 1
            hit = self.server.good and self.server.segment_requests > 1
            self._send(200, "G", "video/mp2t", {"X-Cache": "Hit from cloudfront" if hit else "Miss from cloudfront"})
        else:
            self._send(404, "", "text/plain")

    def do_OPTIONS(self) -> None:
        origin = self.headers.get("Origin", "")
        allow_origin = origin if self.server.good else "*"
        self._send(
            204, "", "text/plain", {"Access-Control-Allow-Origin": allow_origin, "Access-Control-Allow-Methods": "GET,OPTIONS"}
        )


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, role: str, good: bool) -> None:
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.role, self.good, self.asset_requests, self.segment_requests = role, good, 0, 0
        self.deep_link_requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def fake_deployment(good: bool) -> Iterator[dict[str, _FakeServer]]:
    servers = {role: _FakeServer(role, good) for role in ("cloudfront", "api", "alb", "aws")}
    threads = [threading.Thread(target=s.serve_forever, args=(stubs.SERVER_POLL_SECONDS,), daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    try:
        yield servers
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()


def _run_http_checks(tmp_path: Path, closed_port: int, good: bool) -> SuiteRun:
    with fake_deployment(good) as servers:
        outputs = unreachable_outputs(closed_port)
        outputs.update(
            CloudFrontURL=servers["cloudfront"].url,
            ApiGatewayEndpoint=servers["api"].url + "/prod/",
            AlbUrl=servers["alb"].url,
        )
        outputs_file = tmp_path / "flat-outputs.json"
        outputs_file.write_text(json.dumps(outputs))
        return run_suite(
            tmp_path,
            closed_port,
            outputs_file,
            *("-k", "test_cdn or test_api or test_media"),
            AWS_ENDPOINT_URL=servers["aws"].url,
            # The fake CloudFront answers a hit by request count, so the cache-hit repeats need not wait.
            **{harness.CACHE_HIT_RETRY_DELAY_ENV: "0"},
        )


HTTP_CHECKS = {check for check in EXPECTED_FAILING_CHECKS if check.startswith(("test_cdn::", "test_api::", "test_media::"))}


def test_http_checks_pass_against_a_deployment_that_keeps_the_contract(tmp_path: Path, closed_port: int) -> None:
    run = _run_http_checks(tmp_path, closed_port, good=True)
    assert run.passed == HTTP_CHECKS, f"expected every HTTP check to pass, found failures {run.failed}, errors {run.errors}"
    assert run.returncode == 0


def test_http_checks_report_expected_and_found_against_a_broken_deployment(tmp_path: Path, closed_port: int) -> None:
    run = _run_http_checks(tmp_path, closed_port, good=False)
    assert run.returncode == 1 and not run.errors
    expected_messages = {
        "test_api::test_api_gateway_rejects_missing_key": "without x-api-key: expected status 403, found status 200",
        "test_api::test_alb_rejects_requests_without_origin_verify_header[/]": "without X-Origin-Verify: expected status 403, found status 200",
        "test_api::test_cors_preflight_allows_web_origin[cloudfront]": "expected Access-Control-Allow-Origin 'http://127.0.0.1:",
        "test_cdn::test_hashed_asset_is_immutable_and_cached": "expected Cache-Control with 'immutable', found 'public, max-age=60'",
        "test_cdn::test_a_deep_link_is_the_app_shell_from_its_one_cache_object": "expected 'X-Cache: Hit from cloudfront' on a repeat",
        "test_cdn::test_unknown_api_path_shows_custom_404_page": "expected the HTML error page /errors/404.html, found status 404, Content-Type: 'application/json'",
        "test_media::test_manifest_is_403_without_signature_and_200_with": "without cookies: expected 403, found status 200",
        "test_media::test_segment_is_a_cache_hit_on_the_second_request": "expected 'X-Cache: Hit from cloudfront' on a repeat request, found X-Cache ['Miss from cloudfront'",
        "test_media::test_media_bucket_refuses_direct_requests": "(the bucket, not CloudFront): expected 403, found status 200",
    }
    for check, text in expected_messages.items():
        assert text in run.failed.get(check, ""), f"{check}: expected a failure saying {text!r}, found {run.failed.get(check)!r}"
    assert "test_cdn::test_home_page_is_html" in run.passed


# --------------------------------------------------------------------------- the AWS checks, against stubbed responses
# Stubber validates every response against the service model, so these also prove the
# checks read fields that exist, with the shapes AWS returns.

TG_BLUE = "arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:targetgroup/fe-blue/1"
TG_GREEN = "arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:targetgroup/fe-green/2"
PROD_RULE = "arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:listener-rule/app/alb/1/2/3"


class _StubbedAws(AwsClients):
    """Stands in for the `aws` fixture: stubbed clients, every queued response must be consumed."""

    def __init__(self) -> None:
        super().__init__(lambda: REGION)
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Any:
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        if service not in self.stubbers:
            self.clients[service] = stubs.client(service)
            self.stubbers[service] = Stubber(self.clients[service])
            self.stubbers[service].activate()
        return self.stubbers[service]

    def assert_consumed(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def contract_outputs(tmp_path: Path) -> Outputs:
    path = tmp_path / "flat-outputs.json"
    path.write_text(json.dumps(unreachable_outputs(9)))
    return Outputs(path)


def _target(ip: str, state: str) -> dict[str, Any]:
    return {"Target": {"Id": ip, "Port": 8080}, "TargetHealth": {"State": state}}


def _stub_blue_green_service(aws: _StubbedAws, green_targets: list[dict[str, Any]]) -> None:
    """describe_services of a blue/green service whose production rule now forwards to green.

    Only the first call also queues the listener rule and target health (the other checks stop at the service).
    """
    aws.stub("ecs").add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceName": "frontend-pr123",
                    "status": "ACTIVE",
                    "desiredCount": 2,
                    "runningCount": 2,
                    "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5},
                    "loadBalancers": [
                        {
                            "targetGroupArn": TG_BLUE,
                            "containerName": "web",
                            "containerPort": 8080,
                            "advancedConfiguration": {
                                "alternateTargetGroupArn": TG_GREEN,
                                "productionListenerRule": PROD_RULE,
                                "roleArn": "arn:aws:iam::123456789012:role/ecs-infra",
                            },
                        }
                    ],
                }
            ],
            "failures": [],
        },
        {"cluster": "ecs-cluster-pr123", "services": ["frontend-pr123"]},
    )
    if not green_targets:
        return
    elbv2 = aws.stub("elbv2")
    forward = {"TargetGroups": [{"TargetGroupArn": TG_BLUE, "Weight": 0}, {"TargetGroupArn": TG_GREEN, "Weight": 1}]}
    elbv2.add_response(
        "describe_rules", {"Rules": [{"RuleArn": PROD_RULE, "Actions": [{"Type": "forward", "ForwardConfig": forward}]}]}
    )
    elbv2.add_response("describe_target_health", {"TargetHealthDescriptions": []}, {"TargetGroupArn": TG_BLUE})
    elbv2.add_response("describe_target_health", {"TargetHealthDescriptions": green_targets}, {"TargetGroupArn": TG_GREEN})


def test_service_checks_pass_when_green_is_production_and_healthy(contract_outputs: Outputs) -> None:
    from tests.integration import test_services as checks

    aws = _StubbedAws()
    _stub_blue_green_service(aws, [_target("10.0.1.5", "healthy"), _target("10.0.2.6", "healthy")])
    checks.test_service_targets_healthy("frontend", contract_outputs, aws)
    aws.assert_consumed()
    _stub_blue_green_service(aws, [])
    checks.test_service_active_at_desired_count("frontend", contract_outputs, aws)
    _stub_blue_green_service(aws, [])
    checks.test_service_uses_blue_green("frontend", contract_outputs, aws)


def test_service_target_check_reports_unhealthy_production_targets(contract_outputs: Outputs) -> None:
    from tests.integration import test_services as checks

    aws = _StubbedAws()
    _stub_blue_green_service(aws, [_target("10.0.1.5", "healthy"), _target("10.0.2.6", "unhealthy")])
    with pytest.raises(AssertionError) as error:
        checks.test_service_targets_healthy("frontend", contract_outputs, aws)
    message = str(error.value)
    assert f"expected production target group {TG_GREEN} to have >= 2 targets, all healthy" in message
    assert "10.0.2.6:8080=unhealthy" in message


def test_network_checks_pass_on_six_subnets_in_three_azs(contract_outputs: Outputs) -> None:
    from tests.integration import test_network as checks

    aws = _StubbedAws()
    ec2 = aws.stub("ec2")
    subnets = [
        {"SubnetId": f"subnet-{i}", "AvailabilityZone": f"ap-southeast-1{'abc'[i % 3]}", "State": "available"} for i in range(6)
    ]
    ec2.add_response("describe_subnets", {"Subnets": subnets})
    gateways = [{"NatGatewayId": f"nat-{i}", "State": "available"} for i in range(3)] + [
        {"NatGatewayId": "nat-old", "State": "deleted"}
    ]
    ec2.add_response("describe_nat_gateways", {"NatGateways": gateways})
    checks.test_vpc_has_six_subnets_across_three_azs(contract_outputs, aws)
    checks.test_nat_gateways_available(contract_outputs, aws)
    aws.assert_consumed()

    ec2.add_response("describe_subnets", {"Subnets": subnets[:4]})
    with pytest.raises(AssertionError, match=r"expected 6 subnets, found 4 subnets in 3 AZs"):
        checks.test_vpc_has_six_subnets_across_three_azs(contract_outputs, aws)


def test_database_checks_pass_on_an_encrypted_cluster_with_writer_reader_and_rotation(contract_outputs: Outputs) -> None:
    from tests.integration import test_database as checks

    aws = _StubbedAws()
    cluster: dict[str, Any] = {
        "DBClusterIdentifier": "aurora-pr123",
        "Status": "available",
        "StorageEncrypted": True,
        "DBClusterMembers": [
            {"DBInstanceIdentifier": "writer", "IsClusterWriter": True},
            {"DBInstanceIdentifier": "reader", "IsClusterWriter": False},
        ],
    }
    rds = aws.stub("rds")
    rds.add_response("describe_db_clusters", {"DBClusters": [cluster]}, {"DBClusterIdentifier": "aurora-pr123"})
    instances = [{"DBInstanceIdentifier": n, "DBInstanceStatus": "available"} for n in ("writer", "reader")]
    rds.add_response("describe_db_instances", {"DBInstances": instances})
    rds.add_response("describe_db_clusters", {"DBClusters": [cluster]})
    aws.stub("secretsmanager").add_response(
        "describe_secret", {"RotationEnabled": True, "RotationRules": {"AutomaticallyAfterDays": 30}}
    )
    checks.test_aurora_available_with_writer_and_reader(contract_outputs, aws)
    checks.test_aurora_storage_encrypted(contract_outputs, aws)
    checks.test_db_secret_rotation_enabled(contract_outputs, aws)
    aws.assert_consumed()

    rds.add_response("describe_db_clusters", {"DBClusters": [{**cluster, "DBClusterMembers": cluster["DBClusterMembers"][:1]}]})
    with pytest.raises(
        AssertionError, match=r"expected one writer and at least one reader, found writers \['writer'\], readers \[\]"
    ):
        checks.test_aurora_available_with_writer_and_reader(contract_outputs, aws)


def test_registry_and_observability_checks_pass_on_the_contract(contract_outputs: Outputs) -> None:
    from tests.integration import test_observability as observability
    from tests.integration import test_registry as registry

    aws = _StubbedAws()
    repo = {
        "repositoryName": "frontend-pr123",
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
    }
    aws.stub("ecr").add_response("describe_repositories", {"repositories": [repo]}, {"repositoryNames": ["frontend-pr123"]})
    summary = {"ResourceStatus": "CREATE_COMPLETE", "LastUpdatedTimestamp": "2025-01-01T00:00:00Z"}
    resources = [
        {
            "LogicalResourceId": "Logs",
            "PhysicalResourceId": "/ecs/frontend-pr123",
            "ResourceType": "AWS::Logs::LogGroup",
            **summary,
        },
        {"LogicalResourceId": "Vpc", "PhysicalResourceId": "vpc-1", "ResourceType": "AWS::EC2::VPC", **summary},
    ]
    aws.stub("cloudformation").add_response(
        "list_stack_resources", {"StackResourceSummaries": resources}, {"StackName": "TapStackpr123"}
    )
    groups = [{"logGroupName": "/ecs/frontend-pr123", "retentionInDays": 30}, {"logGroupName": "/ecs/frontend-pr123-x"}]
    aws.stub("logs").add_response("describe_log_groups", {"logGroups": groups}, {"logGroupNamePrefix": "/ecs/frontend-pr123"})
    aws.stub("cloudwatch").add_response(
        "get_dashboard", {"DashboardName": "dashboard-pr123", "DashboardBody": '{"widgets": [{}]}'}
    )
    registry.test_repository_scans_on_push_with_immutable_tags("frontend", contract_outputs, aws)
    observability.test_stack_log_groups_keep_30_days(contract_outputs, aws)
    observability.test_dashboard_exists(contract_outputs, aws)
    aws.assert_consumed()

    aws.stub("cloudformation").add_response("list_stack_resources", {"StackResourceSummaries": resources})
    aws.stub("logs").add_response("describe_log_groups", {"logGroups": [{"logGroupName": "/ecs/frontend-pr123"}]})
    with pytest.raises(AssertionError, match=r"expected every log group to keep 30 days, found \{'/ecs/frontend-pr123': None\}"):
        observability.test_stack_log_groups_keep_30_days(contract_outputs, aws)
