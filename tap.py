#!/usr/bin/env python3
"""The CDK app: reads context and environment once, validates, builds TapStack<suffix>."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from lib.account_setup import ACCOUNT_SETUP_CONTEXT, AccountSetupStack
from lib.config import ConfigError, PlatformConfig, from_context
from lib.tap_stack import TapStack


def feature_flags() -> dict[str, object]:
    """The context of cdk.json (feature flags), which the CDK CLI passes but a plain App does not read."""
    context: dict[str, object] = json.loads((Path(__file__).parent / "cdk.json").read_text())["context"]
    return context


def build_app(app: cdk.App, config: PlatformConfig) -> TapStack:
    """Add the stack and the policy checks to `app`; shared by this script and the tests."""
    stack = TapStack(
        app,
        config.names.stack,
        config=config,
        env=cdk.Environment(account=config.account, region=config.region),
        description=f"Media-streaming platform ({config.environment_suffix}): VPC, ECS Fargate, Aurora, ALB, API Gateway, CloudFront",
    )
    # cdk-nag 3.x: any unacknowledged finding fails synth.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def build_account_setup(app: cdk.App, config: PlatformConfig) -> AccountSetupStack:
    """`TapAccountSetup`, once per account and region before the first environment (see README)."""
    stack = AccountSetupStack(
        app,
        env=cdk.Environment(account=config.account, region=config.region),
        description="Media-streaming platform: settings shared by every environment of this account and region",
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> int:
    # The CDK CLI passes its output directory in CDK_OUTDIR; a plain
    # `python tap.py` writes to ./cdk.out as well.
    app = cdk.App(outdir=None if os.environ.get("CDK_OUTDIR") else "cdk.out", context=feature_flags())
    try:
        config = from_context(app.node.try_get_context, os.environ)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 1
    if _truthy(app.node.try_get_context(ACCOUNT_SETUP_CONTEXT)):
        build_account_setup(app, config)
    else:
        build_app(app, config)
    app.synth()
    return 0


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


if __name__ == "__main__":
    sys.exit(main())
