"""TapStack: composes the platform's constructs, wires them together, and exports outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from lib.config import PlatformConfig
from lib.network import Network


class TapStack(Stack):
    """The media-streaming platform for one environment (`TapStack<suffix>`)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        for key, value in (
            ("Environment", config.environment_suffix),
            ("Project", config.project),
            ("ManagedBy", "aws-cdk"),
        ):
            Tags.of(self).add(key, value)

        self.network = Network(self, "Network", config=config)
