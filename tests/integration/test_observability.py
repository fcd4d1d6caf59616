"""Observability: every log group of the stack keeps 30 days; the dashboard exists."""

from __future__ import annotations

import json

from lib.contract import Output
from tests.integration.harness import AwsClients, Outputs, aws_call, aws_collect

RETENTION_DAYS = 30


def test_stack_log_groups_keep_30_days(outputs: Outputs, aws: AwsClients) -> None:
    stack = outputs[Output.STACK_NAME]
    resources = aws_collect(aws("cloudformation"), "list_stack_resources", "StackResourceSummaries", StackName=stack)
    names = sorted(
        r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Logs::LogGroup" and r.get("PhysicalResourceId")
    )
    assert names, f"stack {stack}: expected AWS::Logs::LogGroup resources, found none among {len(resources)} resources"
    logs = aws("logs")
    retention: dict[str, int | str | None] = {}
    for name in names:
        groups = aws_collect(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name)
        match = [g for g in groups if g["logGroupName"] == name]
        retention[name] = match[0].get("retentionInDays") if match else "missing"
    wrong = {name: days for name, days in retention.items() if days != RETENTION_DAYS}
    assert not wrong, (
        f"stack {stack}: expected every log group to keep {RETENTION_DAYS} days, found {wrong} "
        f"(None = never expire; {len(names)} log groups checked)"
    )


def test_dashboard_exists(outputs: Outputs, aws: AwsClients) -> None:
    name = outputs[Output.DASHBOARD_NAME]
    dashboard = aws_call(aws("cloudwatch"), "get_dashboard", DashboardName=name)
    body = json.loads(dashboard.get("DashboardBody") or "{}")
    assert body.get("widgets"), f"dashboard {name}: expected widgets, found body {dashboard.get('DashboardBody')!r:.200}"
