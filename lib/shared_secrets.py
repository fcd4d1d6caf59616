"""Generated values that other resources copy at deploy time (origin-verify header, web API key)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lib.nag import acknowledge


def deploy_time_secret(
    scope: Construct, construct_id: str, *, name: str, description: str, length: int, copied_into: str
) -> tuple[secretsmanager.Secret, str]:
    """A generated secret and its value as a CloudFormation dynamic reference (never a literal).

    The resources named in `copied_into` receive the value when the stack deploys,
    so the secret is rotated by the documented procedure rather than unattended.
    """
    secret = secretsmanager.Secret(
        scope,
        construct_id,
        secret_name=name,
        description=description,
        generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=length),
        removal_policy=RemovalPolicy.DESTROY,
    )
    acknowledge(
        secret,
        "AwsSolutions-SMG4",
        f"The value is copied into {copied_into} at deploy time; it is rotated by the documented procedure "
        "(new value, then cdk deploy), because an unattended rotation would break those copies until the next deploy.",
    )
    return secret, secret.secret_value.unsafe_unwrap()
