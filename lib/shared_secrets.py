"""Edge secrets: generated values that other resources copy at deploy time.

The origin-verify header, the web API key and the blue/green test-route token
reach the ALB rules, CloudFront, API Gateway and WAF only as CloudFormation
dynamic references. CloudFormation resolves a reference again only when its
text changes, so every reference is pinned to the configured version
(`edgeSecretVersion`): changing the version changes the text of every consumer
at once, and a rotation is an explicit deploy rather than a value that some
consumers pick up on an unrelated update and others never do.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lib.contract import EDGE_SECRET_LENGTHS, Names
from lib.nag import acknowledge


@dataclass(frozen=True)
class EdgeVersions:
    """The edge-secret versions in use; None is the version the stack created (referenced as AWSCURRENT)."""

    # What senders (CloudFront, API Gateway) send.
    pinned: str | None
    # What receivers (ALB rules, WAF) accept: the pinned version, and the previous one during a switch.
    accepted: tuple[str | None, ...]


class EdgeSecret:
    """A generated secret `<kind>-<suffix>` and its value, pinned to a version, as dynamic references.

    The secret is created directly under `scope` with `construct_id`, so its logical id is that of the
    plain secret it replaces (a new logical id would replace the secret, and its fixed name would clash).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        kind: str,
        versions: EdgeVersions,
        description: str,
        copied_into: str,
    ) -> None:
        self.versions = versions
        self.secret = secretsmanager.Secret(
            scope,
            construct_id,
            secret_name=names.edge_secret(kind),
            description=description,
            # Letters and digits only: no ALB wildcard (* ?) and nothing to escape in a header.
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=EDGE_SECRET_LENGTHS[kind]
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            f"The value is copied into {copied_into} at deploy time; it is rotated by the documented, versioned "
            "procedure (make rotate-edge-secrets), because an unattended rotation would change the value without "
            "the consumers that CloudFormation fills from it.",
        )

    def value(self, version: str | None) -> str:
        """The dynamic reference to one version (None: the version the stack created, i.e. AWSCURRENT)."""
        return SecretValue.secrets_manager(self.secret.secret_arn, version_id=version).unsafe_unwrap()

    @property
    def current(self) -> str:
        """What senders (CloudFront, API Gateway) send: the pinned version."""
        return self.value(self.versions.pinned)

    @property
    def accepted(self) -> list[str]:
        """What receivers (ALB rules, WAF) accept: the pinned version, and the previous one during a switch."""
        return [self.value(version) for version in self.versions.accepted]
