"""The platform's one log-retention rule: every log group keeps 30 days and goes with the stack."""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

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


@jsii.implements(IAspect)
class FunctionLogGroups:
    """Aspect: every Lambda function without a log group gets a 30-day, destroyable one.

    Covers the functions aws-cdk-lib creates for its own custom resources (they
    never set LoggingConfig); a LogRetention custom resource is never used. As an
    Aspect it runs at synthesis, after every construct exists, whatever the order
    in which the stack added them.
    """

    def __init__(self) -> None:
        self._given: set[str] = set()  # paths of the functions given a group (an app may synthesize twice)

    def visit(self, node: IConstruct) -> None:
        if node.node.path in self._given or not _is_function_without_log_group(node):
            return
        self._given.add(node.node.path)
        parent = node.node.scope
        assert isinstance(parent, Construct) and isinstance(node, CfnResource)
        group = log_group(parent, "Logs")
        node.add_property_override("LoggingConfig.LogGroup", group.log_group_name)


def _is_function_without_log_group(node: IConstruct) -> bool:
    if isinstance(node, lambda_.CfnFunction):
        return node.logging_config is None
    # aws-cdk-lib's custom-resource providers are plain CfnResources and never set LoggingConfig.
    return isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::Lambda::Function"
