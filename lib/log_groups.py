"""The platform's one log-retention rule: every log group keeps 30 days and goes with the stack."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
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


def function_role(scope: Construct, construct_id: str, *, description: str) -> tuple[iam.Role, logs.LogGroup]:
    """A Lambda execution role that may write only to its own 30-day log group (no managed policy).

    Pass both to `lambda_.Function(role=..., log_group=...)`; add any other permission to the role.
    """
    group = log_group(scope, f"{construct_id}Logs")
    role = iam.Role(scope, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description)
    group.grant_write(role)
    return role, group
