"""Non-secret runtime configuration in SSM Parameter Store under `/tap/<suffix>/`."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_ssm as ssm
from constructs import Construct

from lib.contract import API_PARAMETERS, Names


class Parameters(Construct):
    """The String parameters of lib/contract.py's API_PARAMETERS, all created at once.

    `by_env` maps each environment variable to its parameter; the stack hands exactly
    that mapping to the API container, so a parameter cannot exist without reaching it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, names: Names, values: Mapping[str, str]) -> None:
        """`values`: environment variable -> value, for every parameter of API_PARAMETERS and no other."""
        super().__init__(scope, construct_id)
        expected = [parameter.env for parameter in API_PARAMETERS]
        missing = [env for env in expected if env not in values]
        unknown = sorted(set(values) - set(expected))
        if missing or unknown:
            raise ValueError(
                f"Parameters take a value for each of {expected}; missing {missing}, unknown {unknown} "
                "(a new parameter is declared in lib/contract.py API_PARAMETERS)."
            )
        self.by_env: dict[str, ssm.StringParameter] = {
            parameter.env: ssm.StringParameter(
                self,
                parameter.env,
                parameter_name=f"{names.parameter_prefix}/{parameter.path}",
                string_value=values[parameter.env],
                description=parameter.description,
                tier=ssm.ParameterTier.STANDARD,
            )
            for parameter in API_PARAMETERS
        }
