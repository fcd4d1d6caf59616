"""The platform's one log-retention rule: every log group keeps 30 days and goes with the stack."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

RETENTION = logs.RetentionDays.ONE_MONTH


def log_group(scope: Construct, construct_id: str, name: str | None = None) -> logs.LogGroup:
    """A log group kept 30 days and deleted with the stack; `name` when the consumer needs a fixed one."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        retention=RETENTION,
        removal_policy=RemovalPolicy.DESTROY,
    )
