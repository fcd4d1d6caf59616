"""Account-wide settings live in TapAccountSetup; environments only check them, so destroying one breaks no other."""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from lib.account_setup import (
    _PRECONDITION_CODE,
    ACCOUNT_SETUP_COMMAND,
    ACCOUNT_SETUP_STACK_NAME,
    ROLE_EXISTS_ERROR,
    WAF_LOG_GROUP_PREFIX,
)
from lib.config import PlatformConfig
from tap import build_account_setup, feature_flags
from tests.unit.cfn_lint import CfnLint
from tests.unit.support import SUFFIX, Synthesized, run_tap
from tests.unit.template_graph import waits_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def account_setup_and_lint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], CfnLint]]:
    """The account-setup template, and its cfn-lint run (started now, awaited by the lint test, which runs last)."""
    app = cdk.App(context=feature_flags())
    stack = build_account_setup(app, PlatformConfig(environment_suffix=SUFFIX))
    # Template.from_stack runs cdk-nag and the built-in CloudFormation validator: a finding fails here.
    template: dict[str, Any] = dict(Template.from_stack(stack).to_json())
    lint = CfnLint(template, tmp_path_factory.mktemp("account-setup") / "account-setup.json")
    yield template, lint
    lint.result()  # no run left behind when the lint test was not selected


@pytest.fixture(scope="session")
def account_setup(account_setup_and_lint: tuple[dict[str, Any], CfnLint]) -> dict[str, Any]:
    return account_setup_and_lint[0]


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


# ------------------------------------------------------------ environment


@pytest.mark.parametrize("variant", ["stack", "tuned"])
def test_environments_do_not_manage_the_account_wide_api_gateway_setting(request: pytest.FixtureRequest, variant: str) -> None:
    stack: Synthesized = request.getfixturevalue(variant)
    assert not stack.of_type("AWS::ApiGateway::Account")
    for key, role in stack.of_type("AWS::IAM::Role").items():
        principals = json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
        assert "apigateway.amazonaws.com" not in principals, f"{key}: an API Gateway role that belongs to TapAccountSetup"
    assert not stack.of_type("AWS::Logs::ResourcePolicy"), "account-wide log resource policies belong to TapAccountSetup"


def test_the_stage_is_created_only_after_the_logging_precondition_passed(stack: Synthesized) -> None:
    (stage,) = stack.of_type("AWS::ApiGateway::Stage")
    (check,) = stack.of_type("Custom::ApiGatewayLogging")
    assert check in waits_for(stack.resources, stage)
    token = stack.resources[check]["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    function = stack.resources[token]["Properties"]
    role = function["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in stack.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    reads = [s for s in statements if s["Action"] == "apigateway:GET"]
    assert len(reads) == 1
    assert reads[0]["Resource"] == f"arn:aws:apigateway:{stack.config.region}::/account"
    # The check's role and policy exist before the check runs.
    assert {role} | {k for k, p in stack.of_type("AWS::IAM::Policy").items() if {"Ref": role} in p["Properties"]["Roles"]} <= (
        waits_for(stack.resources, check)
    )


class _Responses:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str | None]] = []


def _run_precondition(request_type: str, account: dict[str, Any] | Exception) -> tuple[str, dict[str, Any], str | None]:
    """Runs the inline handler with stand-ins for boto3 and cfnresponse (the modules Lambda provides)."""
    responses = _Responses()

    class Client:
        def get_account(self) -> dict[str, Any]:
            if isinstance(account, Exception):
                raise account
            return account

    boto3 = types.ModuleType("boto3")
    boto3.client = lambda service: Client()  # type: ignore[attr-defined]
    cfnresponse = types.ModuleType("cfnresponse")
    cfnresponse.SUCCESS, cfnresponse.FAILED = "SUCCESS", "FAILED"  # type: ignore[attr-defined]

    def send(event: Any, context: Any, status: str, data: dict[str, Any], physical_id: str, reason: str | None = None) -> None:
        responses.sent.append((status, data, reason))

    cfnresponse.send = send  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ("boto3", "cfnresponse")}
    sys.modules.update({"boto3": boto3, "cfnresponse": cfnresponse})
    try:
        namespace: dict[str, Any] = {}
        exec(compile(_PRECONDITION_CODE, "index.py", "exec"), namespace)  # noqa: S102 - the function's own inline code
        namespace["handler"]({"RequestType": request_type}, None)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    (response,) = responses.sent
    return response


@pytest.mark.parametrize("variant", ["stack", "tuned"])
def test_without_the_account_setup_the_deploy_fails_before_anything_else_is_created(
    request: pytest.FixtureRequest, variant: str
) -> None:
    """Every resource waits for the check, except the check and what it runs on: a missing account setup fails within a
    minute instead of rolling back a half-created environment (minutes of Aurora, NAT and CloudFront deletions, and
    buckets being filled while the rollback runs)."""
    stack: Synthesized = request.getfixturevalue(variant)
    ((check, _),) = stack.of_type("Custom::ApiGatewayLogging").items()
    needed = waits_for(stack.resources, check)
    assert {stack.resources[k]["Type"] for k in needed} == {
        "AWS::Lambda::Function",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::Logs::LogGroup",
    }
    early = sorted(k for k in stack.resources if k != check and k not in needed and check not in waits_for(stack.resources, k))
    # The RestApi alone, created in seconds: its deployment's logical id hashes its CloudFormation (DependsOn included).
    assert [stack.resources[k]["Type"] for k in early] == ["AWS::ApiGateway::RestApi"], (
        f"created before the account-setup check passes: {early}"
    )


def test_precondition_passes_when_the_account_has_a_cloudwatch_role() -> None:
    arn = "arn:aws:iam::123456789012:role/TapAccountSetup-ApiGatewayCloudWatchRole"
    assert _run_precondition("Create", {"cloudwatchRoleArn": arn}) == ("SUCCESS", {"CloudWatchRoleArn": arn}, None)


def test_precondition_fails_the_deploy_with_the_command_that_fixes_it() -> None:
    status, _, reason = _run_precondition("Create", {})
    assert status == "FAILED"
    assert reason is not None and ACCOUNT_SETUP_COMMAND in reason and "no CloudWatch Logs role" in reason
    status, _, reason = _run_precondition("Update", RuntimeError("throttled"))
    assert status == "FAILED" and reason == "apigateway:GetAccount failed: throttled"


def test_precondition_never_blocks_a_destroy() -> None:
    assert _run_precondition("Delete", RuntimeError("must not be called"))[0] == "SUCCESS"


# ------------------------------------------------------------ account setup


def test_account_setup_sets_the_api_gateway_cloudwatch_role(account_setup: dict[str, Any]) -> None:
    ((_, account),) = of_type(account_setup, "AWS::ApiGateway::Account").items()
    role = account_setup["Resources"][account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}}
    ]
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert "RoleName" not in role["Properties"], "a generated name never collides with a role of another tool"


def test_account_setup_lets_log_delivery_write_every_environments_waf_group_only(account_setup: dict[str, Any]) -> None:
    ((_, policy),) = of_type(account_setup, "AWS::Logs::ResourcePolicy").items()
    document = json.loads(json.dumps(policy["Properties"]["PolicyDocument"]))
    text = json.dumps(document)
    assert "delivery.logs.amazonaws.com" in text
    assert f"log-group:{WAF_LOG_GROUP_PREFIX}*:log-stream:*" in text
    assert "aws:SourceAccount" in text and "aws:SourceArn" in text


def test_account_setup_creates_the_ecs_service_linked_role_when_missing_and_never_deletes_it(
    account_setup: dict[str, Any],
) -> None:
    """ECS can fail to assume the role it creates on an account's first CreateCluster (containers-roadmap#2614):
    the account setup, deployed before any environment, creates it; where it exists the call's error is ignored;
    the role outlives the stack (every ECS cluster of the account uses it)."""
    ((key, resource),) = of_type(account_setup, "Custom::AWS").items()
    props = resource["Properties"]
    create = json.loads(props["Create"])
    assert (create["service"], create["action"], create["parameters"]) == (
        "IAM",
        "createServiceLinkedRole",
        {"AWSServiceName": "ecs.amazonaws.com"},
    )
    assert "Update" not in props and "Delete" not in props, "the role must never be deleted or re-created by this stack"
    # The provider matches the SDK error's name; IAM's wire code for "role name has been taken" is InvalidInput.
    ignored = re.compile(create["ignoreErrorCodesMatching"])
    assert ignored.search("InvalidInputException") and ignored.search("InvalidInput")
    for other in ("AccessDenied", "AccessDeniedException", "LimitExceededException", "NotInvalidInputException"):
        assert not ignored.search(other), other
    assert create["ignoreErrorCodesMatching"] == ROLE_EXISTS_ERROR
    # The provider may create this one role and nothing else.
    policy = account_setup["Resources"][resource["DependsOn"][0]]
    assert policy["Type"] == "AWS::IAM::Policy"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "iam:CreateServiceLinkedRole"
    assert statement["Condition"] == {"StringLike": {"iam:AWSServiceName": "ecs.amazonaws.com"}}
    assert json.dumps(statement["Resource"]).endswith(':role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"]]}'), key
    assert not of_type(account_setup, "AWS::IAM::ServiceLinkedRole"), "fails where the role exists; deleted with the stack"


def test_waf_logs_of_an_environment_fall_under_the_account_policy(stack: Synthesized) -> None:
    names = [v["Properties"].get("LogGroupName") for v in stack.of_type("AWS::Logs::LogGroup").values()]
    assert f"{WAF_LOG_GROUP_PREFIX}{SUFFIX}" in names


def test_the_account_setup_synthesis_fails_on_a_builtin_validator_error() -> None:
    """What the `account_setup` fixture relies on (the `python tap.py` run below skips the validator, as
    `make synth` does): an error of aws-cdk-lib's built-in CloudFormation validator fails Template.from_stack."""
    app = cdk.App(context=feature_flags())
    stack = build_account_setup(app, PlatformConfig(environment_suffix=SUFFIX))
    cdk.CfnResource(stack, "MissingRequiredProperties", type="AWS::Logs::SubscriptionFilter", properties={"FilterPattern": ""})
    with pytest.raises(
        RuntimeError,
        match=r"ValidationFailed: ERROR Properties: 'DestinationArn' is a required property \(CloudFormation Validate\)",
    ):
        Template.from_stack(stack)


def test_context_switch_builds_only_the_account_setup(tmp_path: Path) -> None:
    """The CLI path, in a subprocess: `python tap.py` reads CDK_CONTEXT_JSON and writes into CDK_OUTDIR."""
    result = run_tap({"accountSetup": "true"}, str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    stacks = [name for name, artifact in manifest["artifacts"].items() if artifact["type"] == "aws:cloudformation:stack"]
    assert stacks == [ACCOUNT_SETUP_STACK_NAME]


def test_cfn_lint_reports_nothing_on_the_account_setup(account_setup_and_lint: tuple[dict[str, Any], CfnLint]) -> None:
    result = account_setup_and_lint[1].result()
    assert result.returncode == 0, result.stdout + result.stderr
