"""The remaining limits of each setting, the typed values JSON context can carry, and the small helpers' guards."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from lib.config import ConfigError, PlatformConfig, from_context
from lib.contract import AVAILABILITY_ZONES
from lib.nag import acknowledge
from scripts.dashboard_layout import TOKEN, dashboard_body, metrics_of


def build(values: dict[str, Any]) -> PlatformConfig:
    return from_context(values.get, {})


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"cacheMaxAge": "3601"}, "cacheMaxAge must be 0-3600 seconds, got 3601"),
        ({"cacheMaxAge": "-1"}, "cacheMaxAge must be 0-3600 seconds"),
        ({"bakeTimeMinutes": "0"}, "bakeTimeMinutes must be 1-1440, got 0"),
        ({"bakeTimeMinutes": "1441"}, "bakeTimeMinutes must be 1-1440"),
        ({"apiThrottleRate": "0"}, "apiThrottleRate, apiThrottleBurst and partnerQuotaPerDay must be positive"),
        ({"apiThrottleBurst": "0"}, "must be positive"),
        ({"partnerQuotaPerDay": "0"}, "must be positive"),
        ({"alarmEmail": "oncall"}, "alarmEmail must be an e-mail address, got 'oncall'"),
        (
            {"certificateArn": "arn:aws:acm:ap-southeast-1:123456789012:certificate/0f1e", "domainName": "Origin.Example.com"},
            "domainName must be a lowercase DNS name",
        ),
        ({"natGateways": True}, "natGateways must be an integer, got True"),
    ],
)
def test_out_of_range_settings_name_the_setting_and_the_limit(values: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as error:
        build(values)
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"region": "us-east-1"}, "region must be ap-southeast-1, got 'us-east-1'"),
        ({"availability_zones": AVAILABILITY_ZONES[:2]}, "availability_zones must name exactly 3 zones"),
        ({"db_username": "postgres"}, "dbUsername must not be a reserved or well-known name"),
        ({"db_username": "rdsadmin"}, "dbUsername must not be a reserved"),
    ],
)
def test_settings_outside_the_context_keys_are_validated_too(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        PlatformConfig(environment_suffix="dev", **overrides)


def test_json_context_values_keep_their_types() -> None:
    # cdk.json and --context with JSON carry booleans and lists, not only strings.
    cfg = build({"seedDemoData": False, "backendRequestScaling": "yes", "corsAllowedOrigins": ["https://a.example.com", " "]})
    assert cfg.seed_demo_data is False
    assert cfg.backend_request_scaling is True
    assert cfg.cors_allowed_origins == ("https://a.example.com",)
    assert build({"seedDemoData": "1"}).seed_demo_data is True


def test_an_acknowledgment_without_a_real_reason_is_refused() -> None:
    stack = cdk.Stack(cdk.App())
    with pytest.raises(ValueError, match="needs a reason a reviewer would accept"):
        acknowledge(stack, "AwsSolutions-IAM5", "TODO")


def test_dashboard_reader_takes_literal_bodies_and_skips_repeated_namespaces() -> None:
    body = {
        "widgets": [
            {
                "properties": {
                    "stat": "p99",
                    "metrics": [
                        ["AWS/ECS", "CPUUtilization", "ServiceName", "backend"],
                        [".", "MemoryUtilization", ".", "."],
                        [{"expression": "m1*100"}],
                        ["AWS/RDS", "DBLoad", {"stat": "Maximum"}],
                    ],
                }
            }
        ]
    }
    parsed = dashboard_body(json.dumps(body))
    assert metrics_of(parsed["widgets"][0]) == [("AWS/ECS", "CPUUtilization", "p99"), ("AWS/RDS", "DBLoad", "Maximum")]
    joined = dashboard_body({"Fn::Join": ["", ['{"widgets": [{"properties": {"title": "', {"Ref": "X"}, '"}}]}']]})
    assert joined["widgets"][0]["properties"]["title"] == TOKEN
