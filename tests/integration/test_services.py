"""ECS services: active at their desired count, blue/green, healthy targets behind the ALB."""

from __future__ import annotations

from typing import Any

import pytest

from lib.contract import Output
from tests.integration.harness import (
    AwsClients,
    CheckFailed,
    Outputs,
    aws_call,
    production_target_groups,
    summarize_targets,
)

SERVICES = {"frontend": Output.FRONTEND_SERVICE_NAME, "backend": Output.BACKEND_SERVICE_NAME}
MIN_TASKS = 2
# Targets of the idle (non-production) target group of a blue/green pair may still
# be draining right after a deployment; they receive no traffic.
IDLE_GROUP_ALLOWED_STATES = {"healthy", "draining"}


def describe_service(outputs: Outputs, aws: AwsClients, output_key: Output) -> dict[str, Any]:
    cluster, name = outputs[Output.ECS_CLUSTER_NAME], outputs[output_key]
    response = aws_call(aws("ecs"), "describe_services", cluster=cluster, services=[name])
    services = response.get("services", [])
    if len(services) != 1:
        raise CheckFailed(
            f"ECS cluster {cluster}: expected service {name}, found {[s.get('serviceName') for s in services]} "
            f"(failures: {response.get('failures')})"
        )
    service = services[0]
    assert isinstance(service, dict), f"ECS cluster {cluster}: expected service {name} as an object, found {service!r}"
    return service


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_active_at_desired_count(service: str, outputs: Outputs, aws: AwsClients) -> None:
    svc = describe_service(outputs, aws, SERVICES[service])
    name = svc["serviceName"]
    assert svc.get("status") == "ACTIVE", f"service {name}: expected status ACTIVE, found {svc.get('status')}"
    running, desired = svc.get("runningCount"), svc.get("desiredCount")
    assert desired is not None and desired >= MIN_TASKS, f"service {name}: expected desiredCount >= {MIN_TASKS}, found {desired}"
    assert running == desired, f"service {name}: expected runningCount == desiredCount ({desired}), found runningCount {running}"


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_uses_blue_green(service: str, outputs: Outputs, aws: AwsClients) -> None:
    svc = describe_service(outputs, aws, SERVICES[service])
    strategy = svc.get("deploymentConfiguration", {}).get("strategy")
    assert strategy == "BLUE_GREEN", (
        f"service {svc['serviceName']}: expected deploymentConfiguration.strategy BLUE_GREEN, found {strategy!r}"
    )


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_targets_healthy(service: str, outputs: Outputs, aws: AwsClients) -> None:
    """The production target group has >= 2 targets, all healthy; the idle one has none unhealthy."""
    svc = describe_service(outputs, aws, SERVICES[service])
    name = svc["serviceName"]
    attachments = svc.get("loadBalancers", [])
    assert attachments, f"service {name}: expected to be attached to ALB target groups, found no loadBalancers"
    elbv2 = aws("elbv2")
    for attachment in attachments:
        blue = attachment["targetGroupArn"]
        advanced = attachment.get("advancedConfiguration") or {}
        pair = {blue} | ({advanced["alternateTargetGroupArn"]} if advanced.get("alternateTargetGroupArn") else set())
        rule_arn = advanced.get("productionListenerRule")
        if rule_arn:
            rules = aws_call(elbv2, "describe_rules", RuleArns=[rule_arn]).get("Rules", [])
            assert rules, f"service {name}: production listener rule {rule_arn} not found"
            production = production_target_groups(rules[0]) & pair
            assert production, (
                f"service {name}: expected production rule {rule_arn} to forward to one of {sorted(pair)}, "
                f"found forwards to {sorted(production_target_groups(rules[0]))}"
            )
        else:
            production = {blue}
        for arn in sorted(pair):
            health = aws_call(elbv2, "describe_target_health", TargetGroupArn=arn).get("TargetHealthDescriptions", [])
            states = [d.get("TargetHealth", {}).get("State") for d in health]
            found = summarize_targets(health) or "no targets"
            if arn in production:
                healthy = states.count("healthy")
                assert healthy >= MIN_TASKS and healthy == len(states), (
                    f"service {name}: expected production target group {arn} to have >= {MIN_TASKS} targets, "
                    f"all healthy; found {found}"
                )
            else:
                assert set(states) <= IDLE_GROUP_ALLOWED_STATES, (
                    f"service {name}: expected idle target group {arn} to have no targets or only healthy/draining ones; "
                    f"found {found}"
                )
