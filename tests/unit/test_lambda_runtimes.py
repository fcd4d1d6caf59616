"""No function in the template runs on a Lambda runtime that is deprecated, or will be within six months.

Lambda blocks creating functions on a runtime shortly after its deprecation
date, so a template that names one fails its first deploy in a new account.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.unit.support import Synthesized

# Deprecation dates of Lambda runtimes, from the AWS Lambda Developer Guide:
# "Lambda runtimes", table "Supported runtimes" (and the per-language pages
# "Building Lambda functions with Python / Node.js"), which the "Runtime
# deprecation policy" section of the same guide governs:
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
# https://docs.aws.amazon.com/lambda/latest/dg/runtime-support-policy.html
# A runtime missing from this table fails the test until its date is added.
RUNTIME_DEPRECATION = {
    "nodejs24.x": date(2028, 4, 30),
    "nodejs22.x": date(2027, 4, 30),
    "nodejs20.x": date(2026, 4, 30),
    "python3.14": date(2029, 6, 30),
    "python3.13": date(2029, 6, 30),
    "python3.12": date(2028, 10, 31),
    "python3.11": date(2026, 6, 30),
    "python3.10": date(2026, 6, 30),
    "python3.9": date(2025, 12, 15),
    # OS-only runtimes, from "When to use Lambda's OS-only runtimes"
    # (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-provided.html): provided.al2023
    # 2029-06-30 (creation blocked 2029-07-31); provided.al2 2026-06-30 (blocked 2026-07-31).
    "provided.al2023": date(2029, 6, 30),
    "provided.al2": date(2026, 6, 30),
}
# AWS::SecretsManager::RotationSchedule HostedRotationLambda, property Runtime: "By default,
# CloudFormation deploys Python 3.10 binaries for the rotation function" (the transform picks the
# runtime; the same page says not to set Runtime with AWS::SecretsManager-2024-09-16).
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-secretsmanager-rotationschedule-hostedrotationlambda.html
HOSTED_ROTATION_DEFAULT_RUNTIME = "python3.10"
MARGIN = timedelta(days=183)


def lambda_runtimes(template: dict[str, Any]) -> dict[str, str]:
    """Every Lambda runtime the template deploys, by the resource that deploys it."""
    resources: dict[str, dict[str, Any]] = template["Resources"]
    found: dict[str, str] = {}
    for key, resource in resources.items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            if props.get("PackageType") == "Image":
                continue
            runtime = props.get("Runtime") or template.get("Globals", {}).get("Function", {}).get("Runtime")
            assert isinstance(runtime, str), f"{key}: runtime {runtime!r} is not a literal"
            found[key] = runtime
        elif kind == "AWS::SecretsManager::RotationSchedule" and "HostedRotationLambda" in props:
            found[key] = props["HostedRotationLambda"].get("Runtime", HOSTED_ROTATION_DEFAULT_RUNTIME)
        elif kind == "AWS::Serverless::Application":
            # A SAR application (e.g. the older rotation apps) deploys functions whose
            # runtime the template does not show: it cannot be checked here.
            found[key] = "unknown (AWS::Serverless::Application)"
        elif kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            token = props.get("ServiceToken")
            target = token.get("Fn::GetAtt", [None])[0] if isinstance(token, dict) else None
            if target not in resources or resources[target]["Type"] != "AWS::Lambda::Function":
                found[key] = f"unknown (custom resource served by {token!r})"
    return found


def deprecated(runtimes: dict[str, str], today: date) -> list[str]:
    problems = []
    for key, runtime in sorted(runtimes.items()):
        deprecation = RUNTIME_DEPRECATION.get(runtime)
        if deprecation is None:
            problems.append(f"{key}: runtime {runtime} has no deprecation date in RUNTIME_DEPRECATION")
        elif deprecation < today + MARGIN:
            problems.append(f"{key}: {runtime} is deprecated on {deprecation}, within six months of {today}")
    return problems


@pytest.mark.parametrize("variant", ["stack", "tuned"])
def test_no_lambda_runs_a_deprecated_or_soon_deprecated_runtime(request: pytest.FixtureRequest, variant: str) -> None:
    stack: Synthesized = request.getfixturevalue(variant)
    runtimes = lambda_runtimes(stack.json)
    problems = deprecated(runtimes, date.today())
    assert not problems, "\n".join(problems)


def test_the_check_sees_hosted_rotation_sar_apps_and_foreign_custom_resources() -> None:
    template = {
        "Resources": {
            "Rotation": {"Type": "AWS::SecretsManager::RotationSchedule", "Properties": {"HostedRotationLambda": {}}},
            "App": {"Type": "AWS::Serverless::Application", "Properties": {}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "nodejs24.x"}},
            "Mine": {"Type": "Custom::Thing", "Properties": {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}}},
            "Theirs": {"Type": "Custom::Other", "Properties": {"ServiceToken": "arn:aws:lambda:x:1:function:f"}},
        }
    }
    problems = deprecated(lambda_runtimes(template), date(2026, 11, 27))
    assert problems == [
        "App: runtime unknown (AWS::Serverless::Application) has no deprecation date in RUNTIME_DEPRECATION",
        "Rotation: python3.10 is deprecated on 2026-06-30, within six months of 2026-11-27",
        "Theirs: runtime unknown (custom resource served by 'arn:aws:lambda:x:1:function:f') has no deprecation date "
        "in RUNTIME_DEPRECATION",
    ]
    assert deprecated({"Fn": "nodejs22.x"}, date(2026, 11, 27)) == [
        "Fn: nodejs22.x is deprecated on 2027-04-30, within six months of 2026-11-27"
    ]
