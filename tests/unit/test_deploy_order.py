"""Creation and deletion order: what each ECS service must find in place before CreateService runs, and what must be
gone before a bucket is emptied for good (CloudFormation deletes in the reverse of the creation order)."""

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


def policies_of(stack: Synthesized, role: str) -> set[str]:
    return {k for k, v in stack.of_type("AWS::IAM::Policy").items() if {"Ref": role} in v["Properties"]["Roles"]}


@pytest.mark.parametrize("name", ["frontend", "backend"])
def test_service_waits_for_its_traffic_shift_role_and_every_policy_of_that_role(stack: Synthesized, name: str) -> None:
    key = service(stack, name)
    (load_balancer,) = [lb for lb in stack.resources[key]["Properties"]["LoadBalancers"] if "AdvancedConfiguration" in lb]
    role = load_balancer["AdvancedConfiguration"]["RoleArn"]["Fn::GetAtt"][0]
    policies = policies_of(stack, role)
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


@pytest.mark.parametrize("name", ["frontend", "backend"])
def test_service_waits_for_every_policy_of_its_task_and_execution_roles(stack: Synthesized, name: str) -> None:
    """ECS pulls the image and reads the `secrets` parameters with the execution role when the first tasks start; a
    reference to the role's ARN orders the role, not its policy (aws/aws-cdk#18675), and tasks started before the
    policy exists fail with AccessDenied until IAM catches up."""
    key = service(stack, name)
    task = stack.resources[key]["Properties"]["TaskDefinition"]["Ref"]
    before = waits_for(stack.resources, key)
    for role_property in ("ExecutionRoleArn", "TaskRoleArn"):
        role = stack.resources[task]["Properties"][role_property]["Fn::GetAtt"][0]
        policies = policies_of(stack, role)
        # Every execution role holds the image pull; a task role may hold nothing (the frontend's).
        assert policies or role_property == "TaskRoleArn", f"{role} has no policy"
        missing = policies - before
        assert not missing, f"{name} service can start tasks before the policies {sorted(missing)} of its {role_property}"


@pytest.mark.parametrize("name", ["frontend", "backend"])
def test_service_waits_for_the_default_route_of_every_subnet_it_runs_in(stack: Synthesized, name: str) -> None:
    """Tasks have no public address: the image pull and the SSM reads go through the NAT gateway."""
    key = service(stack, name)
    subnets = {s["Ref"] for s in stack.resources[key]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]}
    routes = {
        k
        for k, v in stack.of_type("AWS::EC2::Route").items()
        if v["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0"
        and any(
            a["Properties"]["SubnetId"] == {"Ref": subnet} and a["Properties"]["RouteTableId"] == v["Properties"]["RouteTableId"]
            for subnet in subnets
            for a in stack.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        )
    }
    assert len(routes) == len(subnets) == 3, (routes, subnets)
    assert all("NatGatewayId" in stack.resources[r]["Properties"] for r in routes)
    missing = routes - waits_for(stack.resources, key)
    assert not missing, f"{name} service can start tasks before the default routes {sorted(missing)}"


def test_every_acl_log_writer_is_deleted_before_its_bucket_is_emptied(stack: Synthesized) -> None:
    """CloudFront writes standard logs through the bucket ACL, late (up to 24 h): emptied while the distribution still
    exists, the bucket can get a log file after its policy (and the emptier's write deny) is gone, and its deletion
    fails with BucketNotEmpty. So the distribution is deleted first: it waits for the emptier at creation."""
    emptiers = {
        resource["Properties"]["BucketName"]["Ref"]: key for key, resource in stack.of_type("Custom::S3AutoDeleteObjects").items()
    }
    writers = [
        (key, distribution["Properties"]["DistributionConfig"]["Logging"]["Bucket"]["Fn::GetAtt"][0])
        for key, distribution in stack.of_type("AWS::CloudFront::Distribution").items()
        if "Logging" in distribution["Properties"]["DistributionConfig"]
    ]
    assert writers, "no distribution logs to a bucket: nothing to check"
    for distribution, bucket in writers:
        assert bucket in emptiers, f"the log bucket {bucket} of {distribution} is not emptied on deletion"
        assert emptiers[bucket] in waits_for(stack.resources, distribution), (
            f"{distribution} can outlive the emptying of its log bucket {bucket} on deletion"
        )
