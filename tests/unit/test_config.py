"""Configuration: defaults, parsing of context values, and rejection of bad input with a clear message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lib.config import ConfigError, PlatformConfig, ServiceSize, from_context
from lib.contract import MAX_SUFFIX_LENGTH


def context(values: dict[str, Any]) -> Callable[[str], Any]:
    return values.get


def test_suffix_defaults_to_env_then_dev() -> None:
    assert from_context(context({}), {}).environment_suffix == "dev"
    assert from_context(context({}), {"ENVIRONMENT_SUFFIX": "pr7"}).environment_suffix == "pr7"
    assert from_context(context({"environmentSuffix": "pr123"}), {"ENVIRONMENT_SUFFIX": "pr7"}).environment_suffix == "pr123"


@pytest.mark.parametrize(
    "suffix",
    ["Bad_Suffix", "UPPER", "1starts-with-digit", "has space", "ends-", "double--hyphen", "a" * (MAX_SUFFIX_LENGTH + 1), "é"],
)
def test_invalid_suffix_is_rejected_with_the_rule(suffix: str) -> None:
    with pytest.raises(ConfigError) as error:
        from_context(context({"environmentSuffix": suffix}), {})
    message = str(error.value)
    assert repr(suffix) in message
    assert "lowercase letter" in message and "digits and hyphens" in message
    assert f"at most {MAX_SUFFIX_LENGTH} characters" in message


def test_longest_suffix_fits_the_32_character_name_limit() -> None:
    cfg = PlatformConfig(environment_suffix="a" * MAX_SUFFIX_LENGTH)
    assert len(cfg.names.target_group("frontend", "green")) == 32


def test_context_strings_are_parsed() -> None:
    cfg = from_context(
        context(
            {
                "environmentSuffix": "pr9",
                "natGateways": "1",
                "backendCpu": "1024",
                "backendMemory": "2048",
                "corsAllowedOrigins": "https://a.example.com, https://b.example.com",
                "seedDemoData": "false",
                "imageTag": "3f2c1ab",
            }
        ),
        {},
    )
    assert cfg.nat_gateways == 1
    assert cfg.backend == ServiceSize(1024, 2048)
    assert cfg.frontend == ServiceSize(256, 512)
    assert cfg.cors_allowed_origins == ("https://a.example.com", "https://b.example.com")
    assert cfg.seed_demo_data is False
    assert cfg.image_tag == "3f2c1ab"
    assert cfg.names.stack == "TapStackpr9"
    assert cfg.names.parameter_prefix == "/tap/pr9"


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"natGateways": "2"}, "natGateways must be 3"),
        ({"natGateways": "two"}, "natGateways must be an integer"),
        ({"backendCpu": "300"}, "backendCpu must be one of"),
        ({"frontendMemory": "4096"}, "frontendMemory 4096 MiB is not a Fargate size"),
        ({"minTasks": "5", "maxTasks": "3"}, "minTasks/maxTasks"),
        ({"dbInstanceClass": "db.r6g.large"}, "no 'db.' prefix"),
        ({"dbInstanceClass": "x9.huge"}, "dbInstanceClass must be one of"),
        (
            {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
            "certificateArn must be an ACM certificate ARN in ap-southeast-1",
        ),
        ({"logLevel": "LOUD"}, "logLevel must be one of"),
        ({"corsAllowedOrigins": "not-an-origin"}, "corsAllowedOrigins entries must be origins"),
        ({"priceClass": "PriceClass_1"}, "priceClass must be one of"),
        ({"seedDemoData": "maybe"}, "seedDemoData must be true or false"),
        ({"perIpLimit": "5"}, "perIpLimit must be at least 10"),
        ({"imageTag": "bad tag"}, "imageTag must be a valid image tag"),
        ({"account": "12345"}, "account must be a 12-digit"),
        (
            {"certificateArn": "arn:aws:acm:ap-southeast-1:123456789012:certificate/0f1e2d3c"},
            "certificateArn and domainName go together",
        ),
        ({"domainName": "origin.example.com"}, "certificateArn and domainName go together"),
    ],
)
def test_invalid_settings_name_the_setting_and_what_is_allowed(values: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        from_context(context(values), {})


def test_config_is_immutable() -> None:
    cfg = PlatformConfig(environment_suffix="dev")
    with pytest.raises(AttributeError):
        cfg.nat_gateways = 1  # type: ignore[misc]


def test_db_max_connections_follows_the_instance_memory() -> None:
    assert PlatformConfig(environment_suffix="dev").db_max_connections == 1802  # r6g.large, 16 GiB
    assert PlatformConfig(environment_suffix="dev", db_instance_class="t4g.medium").db_max_connections == 450
    assert PlatformConfig(environment_suffix="dev", db_instance_class="r7g.4xlarge").db_max_connections == 5000
