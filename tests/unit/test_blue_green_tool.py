"""scripts/blue_green.py: the mitigation for aws/aws-cdk#36649, proven offline.

The decision logic is tested as pure functions; the AWS paths run against botocore
Stubbers (dummy credentials, no network), so every call the tool makes is named and
checked, and a call that is not stubbed (e.g. a modify_rule in a dry run) fails the test.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber

from lib.contract import REGION
from scripts import blue_green as bg
from scripts import cli
from tests.unit.stubs import stubbed_clients

SUFFIX = "dev"
ACCOUNT = "123456789012"

CLUSTER = f"ecs-cluster-{SUFFIX}"
LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/alb-{SUFFIX}/50dc6c495c0c9188/f2f7dc8efc522ab2"


def tg_arn(service: str, colour: str) -> str:
    return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/tg-{service}-{colour}-{SUFFIX}/{colour}0{service}"


def rule_arn(service: str, kind: str) -> str:
    return LISTENER.replace(":listener/", ":listener-rule/") + f"/{service}{kind}"


BLUE, GREEN = tg_arn("frontend", "blue"), tg_arn("frontend", "green")


# --------------------------------------------------------------------------- pure decisions


def test_no_drift_when_production_serves_the_healthy_group() -> None:
    assert bg.drift({BLUE: 100, GREEN: 0}, {BLUE: 2, GREEN: 0}) is None
    assert bg.verdict({BLUE: 100, GREEN: 0}, {BLUE: 2, GREEN: 0}) == bg.OK


def test_drift_when_production_forwards_to_an_empty_group_and_the_other_is_healthy() -> None:
    assert bg.drift({BLUE: 0, GREEN: 100}, {BLUE: 2, GREEN: 0}) == BLUE
    assert bg.drift({BLUE: 100, GREEN: 0}, {BLUE: 0, GREEN: 3}) == GREEN
    assert bg.verdict({BLUE: 0, GREEN: 100}, {BLUE: 2, GREEN: 0}) == bg.DRIFT


def test_a_split_that_sends_any_traffic_to_an_empty_group_is_drift() -> None:
    assert bg.drift({BLUE: 50, GREEN: 50}, {BLUE: 2, GREEN: 0}) == BLUE


def test_both_groups_healthy_is_ok_whatever_the_weights() -> None:
    # Mid-deployment, or before ECS drains the old tasks: nothing to repair.
    assert bg.drift({BLUE: 0, GREEN: 100}, {BLUE: 2, GREEN: 2}) is None
    assert bg.verdict({BLUE: 0, GREEN: 100}, {BLUE: 2, GREEN: 2}) == bg.OK


def test_both_groups_empty_is_not_drift_and_has_its_own_verdict() -> None:
    assert bg.drift({BLUE: 100, GREEN: 0}, {BLUE: 0, GREEN: 0}) is None
    assert bg.verdict({BLUE: 100, GREEN: 0}, {BLUE: 0, GREEN: 0}) == bg.NO_HEALTHY_TARGETS


def test_routed_weights_put_test_traffic_on_the_other_group() -> None:
    production, test = bg.routed_weights([BLUE, GREEN], GREEN)
    assert production == {BLUE: 0, GREEN: 100}
    assert test == {BLUE: 100, GREEN: 0}


def test_deploy_risk_only_when_the_template_group_has_no_healthy_targets() -> None:
    template = {BLUE: 100, GREEN: 0}
    assert bg.deploy_risk(template, {BLUE: 0, GREEN: 2}) == (
        f"the template forwards production to tg-frontend-blue-{SUFFIX}, which has no healthy targets"
    )
    # ECS has not drained blue yet (or tasks are back on it): the reset keeps serving.
    assert bg.deploy_risk(template, {BLUE: 2, GREEN: 2}) is None


def test_forward_weights_reads_weighted_and_plain_forwards() -> None:
    weighted = [forward_action({BLUE: 0, GREEN: 100})]
    assert bg.forward_weights(weighted) == {BLUE: 0, GREEN: 100}
    assert bg.forward_weights([{"Type": "forward", "TargetGroupArn": BLUE}]) == {BLUE: 100}
    assert bg.forward_weights([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}]) == {}


def test_with_weights_changes_only_the_forward_weights() -> None:
    actions = [forward_action({BLUE: 0, GREEN: 100})]
    actions[0]["TargetGroupArn"] = GREEN
    updated = bg.with_weights(actions, {BLUE: 100, GREEN: 0})
    assert updated == [
        {
            "Type": "forward",
            "Order": 1,
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": BLUE, "Weight": 100}, {"TargetGroupArn": GREEN, "Weight": 0}],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
    ]
    assert actions[0]["TargetGroupArn"] == GREEN, "the input must not be mutated"


def test_target_group_name_from_arn() -> None:
    assert bg.target_group_name(BLUE) == f"tg-frontend-blue-{SUFFIX}"


# --------------------------------------------------------------------------- AWS paths (Stubber)


def forward_action(weights: dict[str, int]) -> dict[str, Any]:
    return {
        "Type": "forward",
        "Order": 1,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }


@dataclass
class Live:
    """One service's live state: rule weights as (blue, green) and healthy targets per group."""

    name: str
    production: tuple[int, int] = (100, 0)
    test: tuple[int, int] = (0, 100)
    healthy: tuple[int, int] = (2, 0)
    unhealthy: tuple[int, int] = (0, 0)
    rollout: str = "COMPLETED"

    @property
    def groups(self) -> tuple[str, str]:
        return tg_arn(self.name, "blue"), tg_arn(self.name, "green")

    def weights(self, pair: tuple[int, int]) -> dict[str, int]:
        return dict(zip(self.groups, pair, strict=True))


def service_description(live: Live) -> dict[str, Any]:
    blue, green = live.groups
    return {
        "serviceName": f"{live.name}-{SUFFIX}",
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{live.name}-{SUFFIX}",
        "status": "ACTIVE",
        "deploymentController": {"type": "ECS"},
        "loadBalancers": [
            {
                "targetGroupArn": blue,
                "containerName": live.name,
                "containerPort": 8080 if live.name == "frontend" else 8000,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": green,
                    "productionListenerRule": rule_arn(live.name, "production"),
                    "testListenerRule": rule_arn(live.name, "test"),
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-blue-green-{live.name}",
                },
            }
        ],
        "deployments": [
            {
                "id": f"ecs-svc/{live.name}",
                "status": "PRIMARY",
                "rolloutState": live.rollout,
                "desiredCount": 2,
                "runningCount": 2,
            }
        ],
    }


def rule_description(arn: str, weights: dict[str, int], priority: str) -> dict[str, Any]:
    return {
        "RuleArn": arn,
        "Priority": priority,
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
        "Actions": [forward_action(weights)],
        "IsDefault": False,
    }


def target_health(healthy: int, unhealthy: int) -> dict[str, Any]:
    states = ["healthy"] * healthy + ["unhealthy"] * unhealthy
    return {
        "TargetHealthDescriptions": [
            {"Target": {"Id": f"10.0.1.{i + 10}", "Port": 8080}, "TargetHealth": {"State": state}}
            for i, state in enumerate(states)
        ]
    }


@dataclass
class Aws:
    ecs: Any
    elbv2: Any
    ecs_stub: Stubber
    elbv2_stub: Stubber

    def expect_read(self, *services: Live) -> None:
        """The calls every command makes, in order: describe_services, describe_rules, target health per group."""
        self.ecs_stub.add_response(
            "describe_services",
            {"services": [service_description(s) for s in services], "failures": []},
            {"cluster": CLUSTER, "services": [f"{s.name}-{SUFFIX}" for s in services]},
        )
        rules = []
        for index, s in enumerate(services):
            rules.append(rule_description(rule_arn(s.name, "production"), s.weights(s.production), str(20 + 10 * index)))
            rules.append(rule_description(rule_arn(s.name, "test"), s.weights(s.test), str(10 + 10 * index)))
        self.elbv2_stub.add_response(
            "describe_rules",
            {"Rules": rules},
            {"RuleArns": [rule_arn(s.name, k) for s in services for k in ("production", "test")]},
        )
        for s in services:
            for arn, healthy, unhealthy in zip(s.groups, s.healthy, s.unhealthy, strict=True):
                self.elbv2_stub.add_response("describe_target_health", target_health(healthy, unhealthy), {"TargetGroupArn": arn})

    def expect_modify(self, live: Live, kind: str, weights: tuple[int, int]) -> None:
        arn = rule_arn(live.name, kind)
        actions = [forward_action(live.weights(weights))]
        self.elbv2_stub.add_response(
            "modify_rule",
            {"Rules": [rule_description(arn, live.weights(weights), "20")]},
            {"RuleArn": arn, "Actions": copy.deepcopy(actions)},
        )

    def run(self, *argv: str) -> int:
        return bg.main([*argv, "--suffix", SUFFIX], ecs=self.ecs, elbv2=self.elbv2)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with stubbed_clients("ecs", "elbv2") as ((ecs, elbv2), (ecs_stub, elbv2_stub)):
        yield Aws(ecs, elbv2, ecs_stub, elbv2_stub)


def test_status_ok_when_production_is_on_healthy_blue(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend"), Live("backend"))
    assert aws.run("status") == cli.EXIT_OK
    out = capsys.readouterr().out
    assert f"production rule  tg-frontend-blue-{SUFFIX} 100, tg-frontend-green-{SUFFIX} 0" in out
    assert f"tg-frontend-blue-{SUFFIX} 2 healthy / 2 registered" in out
    assert "deployment       COMPLETED (2/2 tasks running)" in out
    assert out.count("verdict          OK") == 2


def test_status_reports_drift_with_exit_3_and_the_restore_command(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", production=(0, 100), test=(100, 0), healthy=(2, 0)), Live("backend"))
    assert aws.run("status") == bg.EXIT_DRIFT
    out = capsys.readouterr().out
    assert "verdict          DRIFT" in out
    assert f"run: python scripts/blue_green.py restore --suffix {SUFFIX}" in out


def test_status_counts_registered_but_unhealthy_targets_as_not_serving(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", production=(0, 100), healthy=(2, 0), unhealthy=(0, 2)), Live("backend"))
    assert aws.run("status") == bg.EXIT_DRIFT
    assert f"tg-frontend-green-{SUFFIX} 0 healthy / 2 registered" in capsys.readouterr().out


def test_restore_moves_production_from_empty_green_back_to_healthy_blue(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    frontend = Live("frontend", production=(0, 100), test=(100, 0), healthy=(2, 0))
    aws.expect_read(frontend, Live("backend"))
    aws.expect_modify(frontend, "production", (100, 0))
    aws.expect_modify(frontend, "test", (0, 100))
    assert aws.run("restore") == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        f"frontend-{SUFFIX}: changing production rule tg-frontend-blue-{SUFFIX} 0, tg-frontend-green-{SUFFIX} 100 -> "
        f"tg-frontend-blue-{SUFFIX} 100, tg-frontend-green-{SUFFIX} 0"
    ) in out
    assert f"backend-{SUFFIX}: OK" in out


def test_restore_after_a_deploy_reset_the_rules_onto_drained_blue(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    """The #36649 sequence: ECS moved production to green and drained blue; the deploy reset it to blue."""
    backend = Live("backend", production=(100, 0), test=(0, 100), healthy=(0, 2))
    aws.expect_read(Live("frontend"), backend)
    aws.expect_modify(backend, "production", (0, 100))
    aws.expect_modify(backend, "test", (100, 0))
    assert aws.run("restore") == cli.EXIT_OK
    assert f"backend-{SUFFIX}: changing test rule" in capsys.readouterr().out


def test_restore_changes_nothing_when_both_groups_are_empty(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", healthy=(0, 0), unhealthy=(1, 0)), Live("backend"))
    # No modify_rule is stubbed: a call would fail the test.
    assert aws.run("restore") == bg.EXIT_NO_HEALTHY_TARGETS
    err = capsys.readouterr().err
    assert f"frontend-{SUFFIX}: ERROR no healthy targets in tg-frontend-blue-{SUFFIX} or tg-frontend-green-{SUFFIX}" in err
    assert "not changing the rules" in err


def test_status_both_empty_is_its_own_exit_code(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", healthy=(0, 0)), Live("backend", production=(0, 100), healthy=(2, 0)))
    assert aws.run("status") == bg.EXIT_NO_HEALTHY_TARGETS
    out = capsys.readouterr().out
    assert "verdict          NO_HEALTHY_TARGETS" in out
    assert "verdict          DRIFT" in out


def test_restore_dry_run_prints_and_changes_nothing(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", production=(0, 100), test=(100, 0), healthy=(2, 0)), Live("backend"))
    # No modify_rule is stubbed: the Stubber raises if the tool calls it.
    assert aws.run("restore", "--dry-run") == cli.EXIT_OK
    out = capsys.readouterr().out
    assert f"frontend-{SUFFIX}: would change production rule" in out
    assert f"frontend-{SUFFIX}: would change test rule" in out
    assert "dry run: no rule was changed" in out


def test_restore_leaves_rules_alone_while_a_deployment_is_in_progress(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", production=(0, 100), healthy=(2, 0), rollout="IN_PROGRESS"), Live("backend"))
    assert aws.run("restore") == bg.EXIT_DRIFT
    assert "a deployment is in progress" in capsys.readouterr().err


def test_pre_deploy_is_safe_when_production_is_on_the_template_group(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend"), Live("backend"))
    assert aws.run("pre-deploy") == cli.EXIT_OK
    assert "OK to deploy" in capsys.readouterr().out


def test_pre_deploy_blocks_when_a_deploy_would_move_production_to_drained_blue(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.expect_read(Live("frontend", production=(0, 100), test=(100, 0), healthy=(0, 2)), Live("backend"))
    assert aws.run("pre-deploy") == bg.EXIT_DRIFT
    out = capsys.readouterr().out
    assert f"RISK             a deploy that touches the listener rules resets production to tg-frontend-blue-{SUFFIX} 100" in out
    assert "What to do: run `cdk deploy`; as soon as it has finished, run" in out
    assert f"    python scripts/blue_green.py restore --suffix {SUFFIX}\n" in out


def test_pre_deploy_only_warns_when_blue_still_has_healthy_tasks(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", production=(0, 100), test=(100, 0), healthy=(2, 2)), Live("backend"))
    assert aws.run("pre-deploy") == cli.EXIT_OK
    assert "warning          a deploy that touches the listener rules resets production" in capsys.readouterr().out


def test_one_service_only(aws: Aws) -> None:
    aws.expect_read(Live("backend"))
    assert aws.run("status", "--service", "backend") == cli.EXIT_OK


def test_missing_service_is_a_clear_input_error(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.ecs_stub.add_response(
        "describe_services",
        {
            "services": [],
            "failures": [{"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/frontend-{SUFFIX}", "reason": "MISSING"}],
        },
        {"cluster": CLUSTER, "services": [f"frontend-{SUFFIX}"]},
    )
    assert aws.run("status", "--service", "frontend") == cli.EXIT_INPUT
    assert f"services not found in cluster {CLUSTER}" in capsys.readouterr().err


def test_aws_errors_exit_1(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.ecs_stub.add_client_error("describe_services", service_error_code="AccessDeniedException", service_message="not allowed")
    assert aws.run("status") == cli.EXIT_AWS
    assert "AccessDeniedException" in capsys.readouterr().err


def test_suffix_is_validated() -> None:
    with pytest.raises(SystemExit) as raised:
        bg.main(["status", "--suffix", "Bad_Suffix"], ecs=object(), elbv2=object())
    assert raised.value.code == 2


def test_context_states_where_production_is_now(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.expect_read(Live("frontend", production=(0, 100), test=(100, 0), healthy=(0, 2)), Live("backend"))
    assert aws.run("context") == cli.EXIT_OK
    assert capsys.readouterr().out.strip() == "--context blueGreenLive=frontend=green,backend=blue"


def test_context_is_empty_before_the_first_deploy(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.ecs_stub.add_client_error("describe_services", service_error_code="ClusterNotFoundException", service_message="nope")
    assert aws.run("context") == cli.EXIT_OK
    assert capsys.readouterr().out == ""


def _services_missing(aws: Aws, missing: tuple[str, ...]) -> None:
    """ECS answers that `missing` (of both services asked for) do not exist."""
    aws.ecs_stub.add_response(
        "describe_services",
        {
            "services": [],
            "failures": [
                {"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{service}-{SUFFIX}", "reason": "MISSING"}
                for service in missing
            ],
        },
        {"cluster": CLUSTER, "services": [f"frontend-{SUFFIX}", f"backend-{SUFFIX}"]},
    )


def test_context_is_empty_when_no_service_exists_yet(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    _services_missing(aws, ("frontend", "backend"))
    assert aws.run("context") == cli.EXIT_OK
    assert capsys.readouterr().out == ""


def test_context_fails_when_an_existing_environment_is_broken(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    """One service missing of two is a broken environment: no context is guessed."""
    _services_missing(aws, ("frontend",))
    assert aws.run("context") == cli.EXIT_INPUT
    assert "services not found" in capsys.readouterr().err


def test_context_fails_on_other_aws_errors(aws: Aws) -> None:
    aws.ecs_stub.add_client_error("describe_services", service_error_code="AccessDeniedException", service_message="no")
    assert aws.run("context") == cli.EXIT_AWS


def test_pre_deploy_keeping_the_live_weights_is_safe_after_blue_drained(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    """The deploy passes `context`, so the template states green: nothing moves (aws/aws-cdk#36649 avoided)."""
    aws.expect_read(Live("frontend", production=(0, 100), test=(100, 0), healthy=(0, 2)), Live("backend"))
    assert aws.run("pre-deploy", "--keeps-live") == cli.EXIT_OK
    assert "OK to deploy" in capsys.readouterr().out
