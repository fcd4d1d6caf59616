"""cdk-nag acknowledgments, always on one construct and always with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge cdk-nag `rule` (e.g. "AwsSolutions-EC23") on `construct`, with `reason`."""
    if len(reason) < 20:
        raise ValueError(f"An acknowledgment of {rule} needs a reason a reviewer would accept, got {reason!r}.")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def partition(scope: IConstruct) -> str:
    """The partition as cdk-nag writes it in a finding id: literal when known at synth."""
    value = Stack.of(scope).partition
    return "<AWS::Partition>" if Token.is_unresolved(value) else value
