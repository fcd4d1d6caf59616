"""scripts/edge_secrets.py: the edge-secret rotation, step by step, against botocore Stubbers.

Every AWS call the tool makes is stubbed with its exact parameters (dummy credentials, no
network); a call that is not expected fails the test. The context the tool prints is fed back
into the platform's configuration, so the tool and the stack agree on what a step deploys.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lib.config import from_context
from lib.contract import EDGE_SECRET_LENGTHS
from scripts import cli
from scripts import edge_secrets as es
from tests.unit.stubs import stubbed_clients

SUFFIX = "dev"
REGION = "ap-southeast-1"
STACK = f"TapStack{SUFFIX}"
NAMES = [f"{kind}-{SUFFIX}" for kind in EDGE_SECRET_LENGTHS]
OLD = "11111111-2222-4333-8444-555555555555"
NEW = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
CREATED = "c0ffee00-0000-4000-8000-000000000001"  # the version CloudFormation generated


def arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{name}-AbCdEf"


@dataclass
class Aws:
    cloudformation: Any
    secretsmanager: Any
    cfn: Stubber
    sm: Stubber

    def stack(self, version: str | None = "initial", previous: str = "none") -> None:
        outputs = [{"OutputKey": "EdgeSecretVersion", "OutputValue": version}] if version else []
        outputs.append({"OutputKey": "EdgeSecretPreviousVersion", "OutputValue": previous})
        self.cfn.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": STACK,
                        "CreationTime": "2026-11-01T00:00:00Z",
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": outputs,
                    }
                ]
            },
            {"StackName": STACK},
        )

    def no_stack(self) -> None:
        self.cfn.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {STACK} does not exist",
            expected_params={"StackName": STACK},
        )

    def versions(self, current: str, pending: str | None = None, *, names: list[str] = NAMES) -> None:
        for name in names:
            listed = [{"VersionId": current, "VersionStages": ["AWSCURRENT"]}]
            if pending:
                listed.append({"VersionId": pending, "VersionStages": ["AWSPENDING"]})
            self.sm.add_response(
                "list_secret_version_ids",
                {"Versions": listed, "ARN": arn(name), "Name": name},
                {"SecretId": name, "MaxResults": 100},
            )

    def run(self, *argv: str) -> int:
        return es.main([*argv, "--suffix", SUFFIX], cloudformation=self.cloudformation, secretsmanager=self.secretsmanager)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with stubbed_clients("cloudformation", "secretsmanager") as ((cloudformation, secretsmanager), (cfn, sm)):
        yield Aws(cloudformation, secretsmanager, cfn, sm)


def printed_context(out: str) -> dict[str, str]:
    """`--context k=v ...` as printed by the tool -> {k: v}."""
    words = shlex.split(out.strip())
    assert words[::2] == ["--context"] * (len(words) // 2), out
    return dict(word.split("=", 1) for word in words[1::2])


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("kind", list(EDGE_SECRET_LENGTHS))
def test_new_values_have_the_kind_length_and_no_alb_wildcards(kind: str) -> None:
    value = es.new_value(kind)
    assert len(value) == EDGE_SECRET_LENGTHS[kind]
    assert set(value) <= set("0123456789abcdef")
    assert es.new_value(kind) != value


# --------------------------------------------------------------------------- the whole rotation


def test_first_rotation_step_by_step(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    # 1. stage: a new version with AWSPENDING only; AWSCURRENT stays on the live value.
    aws.stack()
    aws.versions(CREATED)
    for name in NAMES:
        aws.sm.add_response(
            "put_secret_value",
            {"ARN": arn(name), "Name": name, "VersionId": NEW},
            {"SecretId": name, "ClientRequestToken": NEW, "SecretString": ANY, "VersionStages": ["AWSPENDING"]},
        )
    assert aws.run("stage", "--version", NEW) == cli.EXIT_OK
    assert f"staged {NEW}; next step: switch" in capsys.readouterr().out

    # 2. switch: the new version sent, the initial one still accepted.
    aws.stack()
    aws.versions(CREATED, NEW)
    assert aws.run("context", "--step", "switch") == cli.EXIT_OK
    switch = printed_context(capsys.readouterr().out)
    assert switch == {"edgeSecretVersion": NEW, "edgeSecretPreviousVersion": "initial"}
    assert from_context({**switch, "environmentSuffix": SUFFIX}.get, {}).edge_secret_versions == (None, NEW)

    # 3. promote, once the switch is deployed.
    aws.stack(NEW, "initial")
    aws.versions(CREATED, NEW)
    for name in NAMES:
        aws.sm.add_response(
            "update_secret_version_stage",
            {"ARN": arn(name), "Name": name},
            {"SecretId": name, "VersionStage": "AWSCURRENT", "MoveToVersionId": NEW, "RemoveFromVersionId": CREATED},
        )
        aws.sm.add_response(
            "update_secret_version_stage",
            {"ARN": arn(name), "Name": name},
            {"SecretId": name, "VersionStage": "AWSPENDING", "RemoveFromVersionId": NEW},
        )
    assert aws.run("promote") == cli.EXIT_OK
    assert f"{NEW} is AWSCURRENT on every edge secret" in capsys.readouterr().out

    # 4. finish: only the new version.
    aws.stack(NEW, "initial")
    aws.versions(NEW)
    assert aws.run("context", "--step", "finish") == cli.EXIT_OK
    finish = printed_context(capsys.readouterr().out)
    assert finish == {"edgeSecretVersion": NEW}
    assert from_context(finish.get, {}).edge_secret_versions == (NEW,)

    # Later deploys keep it.
    aws.stack(NEW)
    assert aws.run("context", "--step", "keep") == cli.EXIT_OK
    assert printed_context(capsys.readouterr().out) == {"edgeSecretVersion": NEW}


def test_a_later_rotation_accepts_the_previous_pinned_version(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(OLD)
    aws.versions(OLD, NEW)
    assert aws.run("context", "--step", "switch") == cli.EXIT_OK
    assert printed_context(capsys.readouterr().out) == {"edgeSecretVersion": NEW, "edgeSecretPreviousVersion": OLD}


def test_stage_generates_a_uuid_version_when_none_is_given(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(OLD)
    aws.versions(OLD)
    for name in NAMES:
        aws.sm.add_response(
            "put_secret_value",
            {"Name": name, "VersionId": CREATED},
            {"SecretId": name, "ClientRequestToken": ANY, "SecretString": ANY, "VersionStages": ["AWSPENDING"]},
        )
    assert aws.run("stage") == cli.EXIT_OK
    version = capsys.readouterr().out.rsplit("staged ", 1)[1].split(";")[0]
    assert from_context({"edgeSecretVersion": version}.get, {}).edge_secret_version == version


# --------------------------------------------------------------------------- steps out of order


def test_stage_again_reuses_the_staged_version(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(OLD)
    aws.versions(OLD, NEW)
    # No put_secret_value is stubbed: a second version would fail the test.
    assert aws.run("stage") == cli.EXIT_OK
    assert f"version {NEW} is already staged" in capsys.readouterr().out


def test_stage_refuses_during_an_unfinished_switch(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(NEW, OLD)
    assert aws.run("stage") == es.EXIT_STATE
    assert f"the switch to {NEW} is not finished" in capsys.readouterr().err


def test_different_pending_versions_are_refused_with_the_commands_that_clear_them(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.stack(OLD)
    aws.versions(OLD, NEW, names=NAMES[:2])
    aws.versions(OLD, None, names=NAMES[2:])
    assert aws.run("context", "--step", "switch") == es.EXIT_STATE
    err = capsys.readouterr().err
    assert "different AWSPENDING versions" in err
    assert f"--secret-id {NAMES[0]} --version-stage AWSPENDING --remove-from-version-id {NEW}" in err


def test_switch_needs_a_staged_version(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(OLD)
    aws.versions(OLD)
    assert aws.run("context", "--step", "switch") == es.EXIT_STATE
    assert "no new version is staged; run stage first" in capsys.readouterr().err


def test_promote_needs_the_switch_deployed(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(OLD)
    # No update_secret_version_stage is stubbed: AWSCURRENT must not move before the switch deploy.
    assert aws.run("promote") == es.EXIT_STATE
    assert "no switch is deployed" in capsys.readouterr().err


def test_finish_needs_the_promotion(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(NEW, OLD)
    aws.versions(OLD, NEW)
    assert aws.run("context", "--step", "finish") == es.EXIT_STATE
    assert f"AWSCURRENT is not {NEW} yet; run promote first" in capsys.readouterr().err


def test_a_resumed_switch_prints_the_deployed_switch_again(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(NEW, OLD)
    aws.versions(NEW)
    assert aws.run("context", "--step", "switch") == cli.EXIT_OK
    assert printed_context(capsys.readouterr().out) == {"edgeSecretVersion": NEW, "edgeSecretPreviousVersion": OLD}


def test_promote_is_idempotent(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(NEW, OLD)
    aws.versions(NEW)
    assert aws.run("promote") == cli.EXIT_OK
    assert f"{NEW} is AWSCURRENT on every edge secret" in capsys.readouterr().out


def test_keep_prints_nothing_before_the_first_deploy_or_rotation(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.no_stack()
    assert aws.run("context", "--step", "keep") == cli.EXIT_OK
    aws.stack()
    assert aws.run("context", "--step", "keep") == cli.EXIT_OK
    assert capsys.readouterr().out == "\n\n"


def test_keep_during_a_switch_keeps_both_versions(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(NEW, OLD)
    assert aws.run("context", "--step", "keep") == cli.EXIT_OK
    assert printed_context(capsys.readouterr().out) == {"edgeSecretVersion": NEW, "edgeSecretPreviousVersion": OLD}


def test_status_names_the_next_step(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(NEW, OLD)
    aws.versions(OLD, NEW)
    assert aws.run("status") == cli.EXIT_OK
    out = capsys.readouterr().out
    assert f"{NAMES[0]}: AWSCURRENT {OLD}, AWSPENDING {NEW}" in out
    assert "next step: promote" in out


def test_a_stack_from_before_versioning_counts_as_initial(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(version=None)
    aws.versions(CREATED, NEW)
    assert aws.run("context", "--step", "switch") == cli.EXIT_OK
    assert printed_context(capsys.readouterr().out) == {"edgeSecretVersion": NEW, "edgeSecretPreviousVersion": "initial"}


# --------------------------------------------------------------------------- errors


def test_missing_stack_is_an_input_error(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.no_stack()
    assert aws.run("stage") == cli.EXIT_INPUT
    assert f"stack {STACK} is not deployed" in capsys.readouterr().err


def test_aws_errors_exit_1(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack(OLD)
    aws.sm.add_client_error("list_secret_version_ids", service_error_code="AccessDeniedException", service_message="no")
    assert aws.run("status") == cli.EXIT_AWS
    assert "AccessDeniedException" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["stage", "--suffix", "Bad_Suffix"], ["stage", "--suffix", "dev", "--version", "v2"]])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        es.main(argv, cloudformation=object(), secretsmanager=object())
    assert raised.value.code == 2
