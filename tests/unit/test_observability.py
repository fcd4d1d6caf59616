"""Observability: dashboard metrics per tier, alarms with thresholds and actions, 30-day logs everywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts.dashboard_layout import dashboard_body, metrics_of, render
from tests.unit.support import SUFFIX, Synthesized


@pytest.fixture(scope="module")
def dashboard(stack: Synthesized) -> dict[str, Any]:
    _, resource = stack.one("AWS::CloudWatch::Dashboard")
    assert resource["Properties"]["DashboardName"] == f"dashboard-{SUFFIX}"
    return dashboard_body(resource["Properties"]["DashboardBody"])


def all_metrics(dashboard: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {m for widget in dashboard["widgets"] for m in metrics_of(widget)}


REQUIRED_METRICS = [
    # Edge
    ("AWS/CloudFront", "Requests", "Sum"),
    ("AWS/CloudFront", "CacheHitRate", "Average"),
    ("AWS/CloudFront", "4xxErrorRate", "Average"),
    ("AWS/CloudFront", "5xxErrorRate", "Average"),
    # API
    ("AWS/ApiGateway", "Count", "Sum"),
    ("AWS/ApiGateway", "4XXError", "Sum"),
    ("AWS/ApiGateway", "5XXError", "Sum"),
    ("AWS/ApiGateway", "Latency", "p50"),
    ("AWS/ApiGateway", "Latency", "p95"),
    ("AWS/ApiGateway", "Latency", "p99"),
    ("AWS/WAFV2", "BlockedRequests", "Sum"),
    # Load balancer
    ("AWS/ApplicationELB", "RequestCount", "Sum"),
    ("AWS/ApplicationELB", "TargetResponseTime", "p50"),
    ("AWS/ApplicationELB", "TargetResponseTime", "p95"),
    ("AWS/ApplicationELB", "TargetResponseTime", "p99"),
    ("AWS/ApplicationELB", "HealthyHostCount", "Minimum"),
    ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum"),
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum"),
    # Services
    ("ECS/ContainerInsights", "RunningTaskCount", "Average"),
    ("AWS/ECS", "CPUUtilization", "Average"),
    ("AWS/ECS", "MemoryUtilization", "Average"),
    # Database
    ("AWS/RDS", "DatabaseConnections", "Maximum"),
    ("AWS/RDS", "CPUUtilization", "Average"),
    ("AWS/RDS", "FreeableMemory", "Minimum"),
    ("AWS/RDS", "ReadLatency", "Average"),
    ("AWS/RDS", "WriteLatency", "Average"),
    ("AWS/RDS", "CommitLatency", "Average"),
    ("AWS/RDS", "DBLoad", "Average"),
    ("AWS/RDS", "AuroraReplicaLagMaximum", "Maximum"),
]


@pytest.mark.parametrize("metric", REQUIRED_METRICS, ids=lambda m: f"{m[0]}:{m[1]}:{m[2]}")
def test_dashboard_shows_required_metric(dashboard: dict[str, Any], metric: tuple[str, str, str]) -> None:
    assert metric in all_metrics(dashboard)


def test_dashboard_has_a_row_per_tier_in_order(dashboard: dict[str, Any]) -> None:
    headers = [w["properties"]["markdown"] for w in sorted(dashboard["widgets"], key=lambda w: w["y"]) if w["type"] == "text"]
    assert [h.split(":")[0].lstrip("# ") for h in headers] == ["Edge", "API", "Load balancer", "Services", "Database"]
    assert "y= 0  [Edge" in render(dashboard)


def test_cloudfront_metrics_are_in_us_east_1_with_region_global(dashboard: dict[str, Any]) -> None:
    rows = [row for w in dashboard["widgets"] for row in w.get("properties", {}).get("metrics", []) if row[0] == "AWS/CloudFront"]
    assert len(rows) == 4
    for row in rows:
        assert "Region" in row and row[row.index("Region") + 1] == "Global"
        assert row[-1]["region"] == "us-east-1"


def test_health_and_5xx_cover_blue_and_green_of_both_services(dashboard: dict[str, Any]) -> None:
    for title in ("Healthy hosts (blue / green)", "Unhealthy hosts (blue / green)", "Target 5xx per target group"):
        (widget,) = [w for w in dashboard["widgets"] if w.get("properties", {}).get("title") == title]
        labels = {row[-1]["label"] for row in widget["properties"]["metrics"]}
        assert labels == {"frontend blue", "frontend green", "backend blue", "backend green"}, title


def test_error_rate_per_service_is_metric_math_over_both_target_groups(dashboard: dict[str, Any]) -> None:
    (widget,) = [w for w in dashboard["widgets"] if w.get("properties", {}).get("title") == "5xx error rate per service (%)"]
    expressions = [
        row[0]["expression"] for row in widget["properties"]["metrics"] if isinstance(row[0], dict) and "expression" in row[0]
    ]
    assert len(expressions) == 2
    for name, expression in zip(("frontend", "backend"), expressions, strict=True):
        assert expression == f"100 * (FILL({name}_e1, 0) + FILL({name}_e2, 0)) / (FILL({name}_r1, 0) + FILL({name}_r2, 0))"


# ------------------------------------------------------------------- alarms


def alarms(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        v["Properties"]["AlarmName"]: v["Properties"]
        for v in stack.of_type("AWS::CloudWatch::Alarm").values()
        if "AlarmName" in v["Properties"]
    }


def topic_key(stack: Synthesized) -> str:
    found = [k for k, v in stack.of_type("AWS::SNS::Topic").items() if v["Properties"]["TopicName"] == f"alarms-{SUFFIX}"]
    assert len(found) == 1
    return found[0]


def test_alarm_topic_is_kms_encrypted_and_cloudwatch_may_use_the_key(stack: Synthesized) -> None:
    topic = stack.resources[topic_key(stack)]["Properties"]
    key = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert stack.resources[key]["Properties"]["EnableKeyRotation"] is True
    statements = stack.resources[key]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} and "kms:Decrypt" in s["Action"] for s in statements)


EXPECTED_ALARMS = {
    # name: (threshold, comparison, evaluation periods)
    "alarm-alb-5xx-rate": (1, "GreaterThanThreshold", 5),
    "alarm-p99-latency": (1, "GreaterThanThreshold", 5),
    "alarm-frontend-unhealthy": (0, "GreaterThanThreshold", 3),
    "alarm-backend-unhealthy": (0, "GreaterThanThreshold", 3),
    "alarm-frontend-cpu": (85, "GreaterThanThreshold", 5),
    "alarm-backend-cpu": (85, "GreaterThanThreshold", 5),
    "alarm-db-cpu": (80, "GreaterThanThreshold", 5),
    "alarm-db-connections": (1442, "GreaterThanThreshold", 5),  # 80% of 1802 (r6g.large)
    "alarm-api-5xx": (5, "GreaterThanThreshold", 1),
    "alarm-db-replica-lag": (1000, "GreaterThanThreshold", 5),
    "alarm-frontend-5xx-rate": (1, "GreaterThanThreshold", 3),
    "alarm-backend-5xx-rate": (1, "GreaterThanThreshold", 3),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ALARMS))
def test_alarm_threshold_and_action(stack: Synthesized, name: str) -> None:
    threshold, comparison, periods = EXPECTED_ALARMS[name]
    alarm = alarms(stack)[f"{name}-{SUFFIX}"]
    assert alarm["Threshold"] == threshold
    assert alarm["ComparisonOperator"] == comparison
    assert alarm["EvaluationPeriods"] == periods
    assert alarm["AlarmActions"] == [{"Ref": topic_key(stack)}]
    assert alarm["OKActions"] == [{"Ref": topic_key(stack)}]


def test_alb_5xx_alarm_is_a_rate_over_one_minute_periods(stack: Synthesized) -> None:
    alarm = alarms(stack)[f"alarm-alb-5xx-rate-{SUFFIX}"]
    expression = next(m for m in alarm["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "100 * (FILL(t5, 0) + FILL(l5, 0)) / FILL(req, 1)"
    periods = {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert periods == {60}


def test_thresholds_come_from_config(tuned: Synthesized) -> None:

    found = alarms(tuned)
    assert found[f"alarm-db-cpu-{SUFFIX}"]["Threshold"] == 70
    assert found[f"alarm-p99-latency-{SUFFIX}"]["Threshold"] == 0.5
    assert found[f"alarm-db-connections-{SUFFIX}"]["Threshold"] == 360  # 80% of 450 (t4g.medium)


def test_service_error_rate_alarms_roll_back_blue_green_deployments(stack: Synthesized) -> None:
    keys = {
        v["Properties"]["AlarmName"]: k
        for k, v in stack.of_type("AWS::CloudWatch::Alarm").items()
        if "AlarmName" in v["Properties"]
    }
    for service in stack.of_type("AWS::ECS::Service").values():
        config = service["Properties"]["DeploymentConfiguration"]["Alarms"]
        assert config["Enable"] is True and config["Rollback"] is True
        (alarm_name,) = config["AlarmNames"]
        name = service["Properties"]["ServiceName"].split("-")[0]
        assert alarm_name == f"alarm-{name}-5xx-rate-{SUFFIX}"
        # The alarm exists before the service that names it.
        assert keys[alarm_name] in service["DependsOn"]


def test_email_subscription_only_when_configured(stack: Synthesized, tuned: Synthesized) -> None:
    assert not stack.of_type("AWS::SNS::Subscription")
    _, subscription = tuned.one("AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@example.com"


# ------------------------------------------------------------------- logs


def test_every_log_group_keeps_30_days_and_is_destroyed(stack: Synthesized) -> None:
    groups = stack.of_type("AWS::Logs::LogGroup")
    assert len(groups) >= 10
    for key, group in groups.items():
        assert group["Properties"].get("RetentionInDays") == 30, key
        assert group["DeletionPolicy"] == "Delete" and group["UpdateReplacePolicy"] == "Delete", key
    assert not stack.of_type("Custom::LogRetention")


def test_every_lambda_function_logs_to_a_30_day_group_of_the_stack(stack: Synthesized) -> None:
    functions = stack.of_type("AWS::Lambda::Function")
    assert len(functions) >= 3  # default-SG restriction, bucket auto-delete, error-pages deployment
    for key, function in functions.items():
        target = function["Properties"]["LoggingConfig"]["LogGroup"]
        group = stack.resources[target["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup", key
        assert group["Properties"]["RetentionInDays"] == 30, key


def test_api_execution_logs_are_precreated(stack: Synthesized) -> None:
    names = [json.dumps(v["Properties"].get("LogGroupName")) for v in stack.of_type("AWS::Logs::LogGroup").values()]
    assert any("API-Gateway-Execution-Logs_" in n and "/prod" in n for n in names)
