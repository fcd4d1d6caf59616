"""cdk-nag acknowledgments, always on one construct and always with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge cdk-nag `rule` (e.g. "AwsSolutions-EC23") on `construct`, with `reason`."""
    if len(reason) < 20:
        raise ValueError(f"An acknowledgment of {rule} needs a reason a reviewer would accept, got {reason!r}.")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def _as_written(value: str, pseudo_parameter: str) -> str:
    """A stack attribute as cdk-nag writes it in a finding id: the literal when known at synth."""
    return f"<AWS::{pseudo_parameter}>" if Token.is_unresolved(value) else value


def partition(scope: IConstruct) -> str:
    return _as_written(Stack.of(scope).partition, "Partition")


def account(scope: IConstruct) -> str:
    return _as_written(Stack.of(scope).account, "AccountId")


def region(scope: IConstruct) -> str:
    return _as_written(Stack.of(scope).region, "Region")


def acknowledge_bucket_deployment(handler: IConstruct, *, bucket: IConstruct, copies: str) -> None:
    """The findings on one of aws-cdk-lib's BucketDeployment functions (a stack-level singleton per memory size).

    `bucket` is the destination bucket's CfnBucket; `copies` says what the function copies and where.
    """
    stack = Stack.of(handler)
    bucket_id = stack.resolve(stack.get_logical_id(bucket))  # type: ignore[arg-type]
    acknowledge(
        handler,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "The deployment function of aws-cdk-lib's BucketDeployment; the AWS managed policy only lets it write its own logs.",
    )
    for finding in (
        "Action::s3:GetObject*",
        "Action::s3:GetBucket*",
        "Action::s3:List*",
        "Action::s3:DeleteObject*",
        "Action::s3:Abort*",
        f"Resource::arn:{partition(handler)}:s3:::cdk-hnb659fds-assets-{account(handler)}-{region(handler)}/*",
        f"Resource::<{bucket_id}.Arn>/*",
    ):
        acknowledge(
            handler,
            f"AwsSolutions-IAM5[{finding}]",
            f"BucketDeployment {copies}: it reads the staged asset objects and writes the objects of that bucket "
            "only; object-level wildcards are inherent to that.",
        )
    acknowledge(
        handler,
        "AwsSolutions-L1",
        "The runtime of the BucketDeployment function is chosen by aws-cdk-lib and moves with its upgrades.",
    )
