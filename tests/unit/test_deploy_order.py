"""Creation order: what each ECS service must find in place before CreateService runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.support import SUFFIX, Synthesized
from tests.unit.template_graph import references, waits_for


def service(stack: Synthesized, name: str) -> str:
    (key,) = [
        k for k, v in stack.of_type("AWS::ECS::Service").items() if v["Properties"].get("ServiceName") == f"{name}-{SUFFIX}"
    ]
    return key


def test_reference_walk_follows_ref_getatt_sub_and_depends_on() -> None:
    resources: dict[str, dict[str, Any]] = {
        "A": {"Type": "T", "DependsOn": "B", "Properties": {"X": {"Fn::Sub": "arn:${C.Arn}:${AWS::Region}"}}},
        "B": {"Type": "T", "Properties": {"Y": [{"Fn::GetAtt": ["D", "Arn"]}]}},
        "C": {"Type": "T", "Properties": {"Z": {"Ref": "E"}}},
        "D": {"Type": "T"},
        "E": {"Type": "T"},
        "F": {"Type": "T"},
    }
    assert sorted(references(resources["A"]["Properties"])) == ["AWS::Region", "C"]
    assert waits_for(resources, "A") == {"B", "C", "D", "E"}


@pytest.mark.parametrize("name", ["frontend", "backend"])
def test_service_waits_for_its_traffic_shift_role_and_every_policy_of_that_role(stack: Synthesized, name: str) -> None:
    key = service(stack, name)
    (load_balancer,) = [lb for lb in stack.resources[key]["Properties"]["LoadBalancers"] if "AdvancedConfiguration" in lb]
    role = load_balancer["AdvancedConfiguration"]["RoleArn"]["Fn::GetAtt"][0]
    policies = {k for k, v in stack.of_type("AWS::IAM::Policy").items() if {"Ref": role} in v["Properties"]["Roles"]}
    assert policies, f"the traffic-shift role {role} has no policy"
    before = waits_for(stack.resources, key)
    assert role in before
    # The ARN reference orders the role only; without the policy ECS cannot
    # describe or modify the listener rules when CreateService runs.
    missing = policies - before
    assert not missing, f"{name} service can be created before the policies {sorted(missing)} of its traffic-shift role"


def test_backend_service_waits_for_every_aurora_instance(stack: Synthesized) -> None:
    key = service(stack, "backend")
    (cluster,) = stack.of_type("AWS::RDS::DBCluster")
    instances = {
        k
        for k, v in stack.of_type("AWS::RDS::DBInstance").items()
        if v["Properties"].get("DBClusterIdentifier") == {"Ref": cluster}
    }
    assert len(instances) == 2, instances
    before = waits_for(stack.resources, key)
    assert cluster in before
    missing = instances - before
    # The endpoints exist with the cluster, but nothing answers until the
    # instances are available (about ten minutes): tasks would crash-loop.
    assert not missing, f"backend service can start before the Aurora instances {sorted(missing)}"
