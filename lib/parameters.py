"""Non-secret runtime configuration in SSM Parameter Store under `/tap/<suffix>/`."""

from __future__ import annotations

from aws_cdk import aws_ssm as ssm
from constructs import Construct

from lib.config import PlatformConfig


class Parameters(Construct):
    """Plain String parameters the backend task receives as environment variables.

    `values` maps the environment variable to its parameter, so the compute
    tier injects exactly what is stored here.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig) -> None:
        super().__init__(scope, construct_id)
        self.prefix = config.parameter_prefix
        self.values: dict[str, ssm.StringParameter] = {}

    def put(self, env_name: str, path: str, value: str, description: str) -> ssm.StringParameter:
        parameter = ssm.StringParameter(
            self,
            env_name,
            parameter_name=f"{self.prefix}/{path}",
            string_value=value,
            description=description,
            tier=ssm.ParameterTier.STANDARD,
        )
        self.values[env_name] = parameter
        return parameter
