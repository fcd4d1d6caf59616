"""`make cost`: the template walker on small templates, and the lean profile (config and synthesized)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lib.config import PROFILES, ConfigError, PlatformConfig, from_context
from scripts.cost import CostError, fixed_costs, total, usage_costs
from scripts.prices import HOURS_PER_MONTH, PRICES
from tests.unit.support import Synthesized, lean_overrides


def by_item(template: dict[str, Any]) -> dict[str, float]:
    return {line.item: line.monthly_usd for line in fixed_costs(template)}


def price(key: str) -> float:
    return PRICES[key].usd


def test_nat_gateways_and_their_addresses_are_billed_by_the_hour() -> None:
    template = {
        "Resources": {
            "Nat1": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "Nat2": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "Eip1": {"Type": "AWS::EC2::EIP", "Properties": {}},
            "Eip2": {"Type": "AWS::EC2::EIP", "Properties": {}},
            "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": ["a", "b", "c"]}},
        }
    }
    costs = by_item(template)
    assert costs["NAT gateways"] == pytest.approx(2 * HOURS_PER_MONTH * price("nat_gateway_hour"))
    # Two EIPs plus one address per ALB node (one per subnet of an internet-facing ALB).
    assert costs["public IPv4 addresses"] == pytest.approx(5 * HOURS_PER_MONTH * price("public_ipv4_hour"))


def test_fargate_is_billed_for_the_minimum_tasks_at_their_size() -> None:
    template = {
        "Resources": {
            "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Family": "api", "Cpu": "512", "Memory": "1024"}},
            "Svc": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "Task"}, "DesiredCount": 5}},
            "Target": {
                "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                "Properties": {"MinCapacity": 2, "MaxCapacity": 10, "ResourceId": {"Fn::GetAtt": ["Svc", "Name"]}},
            },
        }
    }
    per_task_hour = 0.5 * price("fargate_vcpu_hour") + 1 * price("fargate_gb_hour")
    assert by_item(template)["Fargate api"] == pytest.approx(2 * HOURS_PER_MONTH * per_task_hour)


def test_aurora_instances_waf_rules_and_metric_math_alarms() -> None:
    template = {
        "Resources": {
            "Cluster": {"Type": "AWS::RDS::DBCluster", "Properties": {}},
            "W": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.r6g.large"}},
            "R": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.r6g.large"}},
            "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [{}, {}, {}]}},
            "Simple": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "CPU"}},
            "Math": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Metrics": [{"Id": "e", "Expression": "a/b"}, {"Id": "a", "MetricStat": {}}, {"Id": "b", "MetricStat": {}}]
                },
            },
        }
    }
    costs = by_item(template)
    assert costs["Aurora db.r6g.large"] == pytest.approx(2 * HOURS_PER_MONTH * price("aurora_pg_db.r6g.large_hour"))
    assert costs["WAF web ACL"] == pytest.approx(price("waf_web_acl_month") + 3 * price("waf_rule_month"))
    assert costs["CloudWatch alarms"] == pytest.approx(3 * price("alarm_metric_month"))


def test_an_instance_class_without_a_price_is_a_clear_error() -> None:
    template = {"Resources": {"I": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.x2g.large"}}}}
    with pytest.raises(CostError, match=r"aurora_pg_db.x2g.large_hour.*scripts/prices.py"):
        fixed_costs(template)


def test_every_price_names_its_source() -> None:
    for key, entry in PRICES.items():
        assert entry.usd > 0 and entry.unit and entry.source.startswith("https://"), key


# ----------------------------------------------------------------------------- the lean profile


def test_lean_profile_sets_its_defaults_and_explicit_context_still_wins() -> None:
    lean = from_context({"profile": "lean"}.get, {})
    assert (lean.nat_gateways, lean.db_instance_class, lean.container_insights, lean.price_class) == (
        1,
        "t4g.medium",
        "enabled",
        "PriceClass_100",
    )
    explicit = from_context({"profile": "lean", "natGateways": "3", "dbInstanceClass": "r6g.large"}.get, {})
    assert (explicit.nat_gateways, explicit.db_instance_class, explicit.container_insights) == (3, "r6g.large", "enabled")
    assert from_context(dict[str, str]().get, {}).profile == "production"


@pytest.mark.parametrize(
    ("suffix", "profile"),
    [
        ("pr123", "lean"),
        ("pr1", "lean"),
        ("prod", "production"),
        ("dev", "production"),
        ("pr12a", "production"),
        ("xpr1", "production"),
    ],
)
def test_a_pull_request_suffix_defaults_to_the_lean_profile(suffix: str, profile: str) -> None:
    """The pipeline's `cdk deploy --context environmentSuffix=pr123` names no profile: lean, so pull-request
    environments fit the region's quotas (4 lean per region, 1 production: test_account_quotas.py)."""
    built = from_context({"environmentSuffix": suffix}.get, {})
    assert built.profile == profile
    assert built.nat_gateways == (1 if profile == "lean" else 3)
    # The environment variable the Makefile's template-diff uses picks the same default.
    assert from_context(dict[str, str]().get, {"ENVIRONMENT_SUFFIX": suffix}).profile == profile
    # An explicit profile always wins.
    assert from_context({"environmentSuffix": suffix, "profile": "production"}.get, {}).nat_gateways == 3
    assert from_context({"environmentSuffix": suffix, "profile": "lean"}.get, {}).nat_gateways == 1


def test_unknown_profile_fails_naming_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"profile must be one of \('production', 'lean'\), got 'cheap'"):
        from_context({"profile": "cheap"}.get, {})
    # Set outside the context (a config built in code) it is validated as well.
    with pytest.raises(ConfigError, match=r"profile must be one of \('production', 'lean'\), got 'cheap'"):
        PlatformConfig(environment_suffix="pr9", profile="cheap")


def test_profile_defaults_are_validated_like_context() -> None:
    PROFILES["broken"] = {"natGateways": 2}
    try:
        with pytest.raises(ConfigError, match="natGateways must be 3"):
            from_context({"profile": "broken"}.get, {})
    finally:
        del PROFILES["broken"]


def test_container_insights_setting_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"containerInsights must be one of \('enhanced', 'enabled'\)"):
        from_context({"containerInsights": "disabled"}.get, {})


@pytest.fixture(scope="module")
def lean(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**lean_overrides())


def test_lean_keeps_what_the_platform_requires(lean: Synthesized) -> None:
    subnets = lean.of_type("AWS::EC2::Subnet")
    assert len({s["Properties"]["AvailabilityZone"] for s in subnets.values()}) == 3
    assert len(subnets) == 6
    instances = lean.of_type("AWS::RDS::DBInstance")
    assert len(instances) == 2  # writer and reader
    _, cluster = lean.one("AWS::RDS::DBCluster")
    assert cluster["Properties"]["StorageEncrypted"] is True and "KmsKeyId" in cluster["Properties"]
    assert len(lean.of_type("AWS::WAFv2::WebACL")) == 1
    for target in lean.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values():
        assert target["Properties"]["MinCapacity"] >= 2
    _, ecs_cluster = lean.one("AWS::ECS::Cluster")
    assert {"Name": "containerInsights", "Value": "enabled"} in ecs_cluster["Properties"]["ClusterSettings"]


def test_lean_fixed_cost_is_at_most_40_percent_of_production(stack: Synthesized, lean: Synthesized) -> None:
    production, cheap = total(fixed_costs(stack.json)), total(fixed_costs(lean.json))
    assert cheap <= 0.40 * production, f"lean {cheap:.2f} vs production {production:.2f} USD/month"


def test_the_master_user_secret_rds_manages_is_billed_as_a_secret() -> None:
    template = {
        "Resources": {
            "Edge": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
            "Cluster": {"Type": "AWS::RDS::DBCluster", "Properties": {"ManageMasterUserPassword": True}},
            "Other": {"Type": "AWS::RDS::DBCluster", "Properties": {}},
        }
    }
    assert by_item(template)["Secrets Manager"] == pytest.approx(2 * price("secret_month"))


def bench_day(**overall: float) -> dict[str, Any]:
    """The shape of cdk.out/bench-cdn.json that usage_costs reads: one day at the shipped max-age."""
    day = {"requests": 1e6, "bytes": 1e12, "origin_requests": 5e4, **overall}
    return {"shipped_max_age": 30, "sweep": {"30": {"overall": day, "behaviors": {"/api/* -> API Gateway": day}}}}


def test_cloudfront_functions_are_billed_per_invocation_of_the_bench_day() -> None:
    usage = {line.item: line for line in usage_costs(bench_day(function_invocations=4e6))}
    functions = usage["CloudFront Functions"]
    assert functions.quantity == pytest.approx(4e6 * 30)
    assert functions.monthly_usd == pytest.approx(120 * price("cloudfront_functions_million"))
    # A bench-cdn result from before the model counted invocations is refused, not billed as zero.
    with pytest.raises(CostError, match="re-run `make bench-cdn`"):
        usage_costs(bench_day())
