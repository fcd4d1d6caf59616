"""Compute tier: cluster, task definitions, images, backend configuration, IAM, blue/green, autoscaling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.contract import API_PARAMETERS
from tests.unit.support import SUFFIX, TUNED, Synthesized


def task(stack: Synthesized, service: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        v["Properties"]
        for v in stack.of_type("AWS::ECS::TaskDefinition").values()
        if v["Properties"]["Family"] == f"{service}-{SUFFIX}"
    ]
    assert len(found) == 1
    return found[0]


def container(stack: Synthesized, service: str) -> dict[str, Any]:
    (definition,) = task(stack, service)["ContainerDefinitions"]
    assert isinstance(definition, dict)
    return definition


def service(stack: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    found = [
        (k, v) for k, v in stack.of_type("AWS::ECS::Service").items() if v["Properties"]["ServiceName"] == f"{name}-{SUFFIX}"
    ]
    assert len(found) == 1
    return found[0]


def test_cluster_is_fargate_only_with_enhanced_container_insights(stack: Synthesized) -> None:
    _, cluster = stack.one("AWS::ECS::Cluster")
    props = cluster["Properties"]
    assert props["ClusterName"] == f"ecs-cluster-{SUFFIX}"
    assert {"Name": "containerInsights", "Value": "enhanced"} in props["ClusterSettings"]
    _, providers = stack.one("AWS::ECS::ClusterCapacityProviderAssociations")
    assert set(providers["Properties"]["CapacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}
    assert not stack.of_type("AWS::AutoScaling::AutoScalingGroup"), "no EC2 capacity"
    for _, svc in stack.of_type("AWS::ECS::Service").items():
        assert svc["Properties"]["LaunchType"] == "FARGATE"


@pytest.mark.parametrize(("name", "cpu", "memory"), [("backend", "512", "1024"), ("frontend", "256", "512")])
def test_task_sizes_come_from_config(stack: Synthesized, tuned: Synthesized, name: str, cpu: str, memory: str) -> None:
    props = task(stack, name)
    assert (props["Cpu"], props["Memory"]) == (cpu, memory)
    assert props["RequiresCompatibilities"] == ["FARGATE"] and props["NetworkMode"] == "awsvpc"

    size = TUNED.get(name)
    assert size is not None and (size.cpu, size.memory_mib) != (int(cpu), int(memory)), (
        f"the tuned variant must change the {name} size, has {size}"
    )
    assert (task(tuned, name)["Cpu"], task(tuned, name)["Memory"]) == (str(size.cpu), str(size.memory_mib))


@pytest.mark.parametrize(("name", "user", "port"), [("backend", "10001", 8000), ("frontend", "101", 8080)])
def test_container_runs_non_root_read_only_with_health_check_stop_timeout_and_logs(
    stack: Synthesized, name: str, user: str, port: int
) -> None:
    definition = container(stack, name)
    assert definition["User"] == user
    assert definition["ReadonlyRootFilesystem"] is True
    assert definition["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
    assert task(stack, name)["Volumes"] == [{"Name": "tmp"}]
    assert definition["StopTimeout"] == 30
    assert definition["PortMappings"][0]["ContainerPort"] == port
    health = definition["HealthCheck"]
    assert "/health" in " ".join(health["Command"]) and str(port) in " ".join(health["Command"])
    assert health["Interval"] == 30 and health["Retries"] == 3
    logging = definition["LogConfiguration"]
    assert logging["LogDriver"] == "awslogs"
    group_key = logging["Options"]["awslogs-group"]["Ref"]
    group = stack.resources[group_key]
    assert group["Properties"]["LogGroupName"] == f"/ecs/{name}-{SUFFIX}"
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Delete"


def test_without_image_tag_images_are_built_from_the_app_directories_for_amd64(stack: Synthesized) -> None:
    for name in ("backend", "frontend"):
        assert task(stack, name)["RuntimePlatform"] == {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}
    assets = stack.asset_manifest()
    sources = {a["source"]["directory"] for a in assets.get("dockerImages", {}).values()}
    platforms = {a["source"].get("platform") for a in assets.get("dockerImages", {}).values()}
    assert len(sources) == 2 and platforms == {"linux/amd64"}


def test_with_image_tag_images_come_from_the_project_repositories(tuned: Synthesized) -> None:
    for name, repo in (("backend", "RegistryBackend"), ("frontend", "RegistryFrontend")):
        image = json.dumps(container(tuned, name)["Image"])
        assert repo in image and ":3f2c1ab" in image, image


def test_backend_gets_ssm_parameters_injected_and_the_secret_arn(stack: Synthesized) -> None:
    definition = container(stack, "backend")
    secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in definition["Secrets"]}
    # Every parameter of the contract reaches the container, and nothing else is injected.
    assert sorted(secrets) == sorted(parameter.env for parameter in API_PARAMETERS)
    parameters = stack.of_type("AWS::SSM::Parameter")
    for env, value_from in secrets.items():
        assert [key for key in parameters if key in value_from] != [], f"{env} is not injected from a parameter of the stack"
    environment = {e["Name"]: e["Value"] for e in definition["Environment"]}
    assert environment["DB_SECRET_ARN"] == {"Fn::GetAtt": [stack.one("AWS::RDS::DBCluster")[0], "MasterUserSecret.SecretArn"]}
    assert environment["DB_SSLMODE"] == "require"
    assert "DB_PASSWORD" not in environment and "DB_PASSWORD" not in secrets
    frontend = container(stack, "frontend")
    assert "Secrets" not in frontend and "Environment" not in frontend


def _statements(stack: Synthesized, role_key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_key} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def test_backend_task_role_reads_its_secret_and_key_only(stack: Synthesized) -> None:
    role = task(stack, "backend")["TaskRoleArn"]["Fn::GetAtt"][0]
    # The media signing key's statement (GetSecretValue on that secret only) is checked in test_media.py.
    # No SSM action: ECS injects the parameters with the execution role; the app never calls SSM.
    statements = [s for s in _statements(stack, role) if s.get("Sid") != "ReadMediaSigningKey"]
    actions = sorted(a for s in statements for a in _actions(s))
    assert actions == ["kms:Decrypt", "secretsmanager:GetSecretValue"]
    by_action = {a: s["Resource"] for s in statements for a in _actions(s)}
    cluster_id, cluster = stack.one("AWS::RDS::DBCluster")
    assert by_action["secretsmanager:GetSecretValue"] == {"Fn::GetAtt": [cluster_id, "MasterUserSecret.SecretArn"]}
    assert by_action["kms:Decrypt"] == cluster["Properties"]["MasterUserSecret"]["KmsKeyId"], "the key of the DB secret"


def test_frontend_task_role_has_no_permissions(stack: Synthesized) -> None:
    role = task(stack, "frontend")["TaskRoleArn"]["Fn::GetAtt"][0]
    assert _statements(stack, role) == []
    assert "Policies" not in stack.resources[role]["Properties"]
    assert "ManagedPolicyArns" not in stack.resources[role]["Properties"]


def test_execution_roles_pull_log_and_read_injected_values_only(stack: Synthesized) -> None:
    allowed = {
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ssm:DescribeParameters",
        "ssm:GetParameters",
        "ssm:GetParameter",
        "ssm:GetParameterHistory",
    }
    for name in ("backend", "frontend"):
        role = task(stack, name)["ExecutionRoleArn"]["Fn::GetAtt"][0]
        statements = _statements(stack, role)
        actions = {a for s in statements for a in _actions(s)}
        assert actions <= allowed, actions - allowed
        parameters = stack.of_type("AWS::SSM::Parameter")
        for statement in statements:
            if any(a.startswith("ssm:") for a in _actions(statement)):
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                for resource in resources:
                    named = [key for key in parameters if key in json.dumps(resource)]
                    assert len(named) == 1, f"{name} execution role reads SSM beyond the stack's parameters: {resource}"
    frontend_role = task(stack, "frontend")["ExecutionRoleArn"]["Fn::GetAtt"][0]
    assert not any(a.startswith("ssm:") for s in _statements(stack, frontend_role) for a in _actions(s))


@pytest.mark.parametrize("name", ["backend", "frontend"])
def test_services_use_native_blue_green_with_both_rules_and_bake_time(stack: Synthesized, tuned: Synthesized, name: str) -> None:
    _key, svc = service(stack, name)
    props = svc["Properties"]
    assert props["DeploymentConfiguration"]["Strategy"] == "BLUE_GREEN"
    assert props["DeploymentConfiguration"]["BakeTimeInMinutes"] == 5
    assert props["DesiredCount"] == 2
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    (lb,) = props["LoadBalancers"]
    title = name.capitalize()
    assert lb["TargetGroupArn"]["Ref"].startswith(f"LoadBalancer{title}Blue")
    advanced = lb["AdvancedConfiguration"]
    assert advanced["AlternateTargetGroupArn"]["Ref"].startswith(f"LoadBalancer{title}Green")
    assert advanced["ProductionListenerRule"]["Ref"].startswith(f"LoadBalancer{title}ProductionRule")
    assert advanced["TestListenerRule"]["Ref"].startswith(f"LoadBalancer{title}TestRule")
    # Circuit breakers apply to rolling deployments only.
    assert "DeploymentCircuitBreaker" not in props["DeploymentConfiguration"]
    assert service(tuned, name)[1]["Properties"]["DeploymentConfiguration"]["BakeTimeInMinutes"] == 15


@pytest.mark.parametrize("name", ["backend", "frontend"])
def test_traffic_shift_role_is_scoped_to_the_services_rules_and_groups(stack: Synthesized, name: str) -> None:
    _, svc = service(stack, name)
    advanced = svc["Properties"]["LoadBalancers"][0]["AdvancedConfiguration"]
    role = advanced["RoleArn"]["Fn::GetAtt"][0]
    trust = stack.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert "ManagedPolicyArns" not in stack.resources[role]["Properties"]
    by_action = {a: s["Resource"] for s in _statements(stack, role) for a in _actions(s)}
    assert {json.dumps(r) for r in by_action["elasticloadbalancing:ModifyRule"]} == {
        json.dumps(advanced["ProductionListenerRule"]),
        json.dumps(advanced["TestListenerRule"]),
    }
    groups = {json.dumps(r) for r in by_action["elasticloadbalancing:RegisterTargets"]}
    assert groups == {
        json.dumps(svc["Properties"]["LoadBalancers"][0]["TargetGroupArn"]),
        json.dumps(advanced["AlternateTargetGroupArn"]),
    }
    for action, resource in by_action.items():
        if resource == "*":
            assert action.startswith("elasticloadbalancing:Describe"), action


def _scaling(stack: Synthesized, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    key, _ = service(stack, name)
    targets = {
        k: v["Properties"]
        for k, v in stack.of_type("AWS::ApplicationAutoScaling::ScalableTarget").items()
        if key in json.dumps(v["Properties"]["ResourceId"])
    }
    assert len(targets) == 1
    ((target_key, target),) = targets.items()
    policies = [
        v["Properties"]
        for v in stack.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if v["Properties"]["ScalingTargetId"] == {"Ref": target_key}
    ]
    return target, policies


@pytest.mark.parametrize("name", ["backend", "frontend"])
def test_autoscaling_two_to_ten_out_on_cpu_70_in_below_30(stack: Synthesized, name: str) -> None:
    target, policies = _scaling(stack, name)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    tracking = [p for p in policies if p["PolicyType"] == "TargetTrackingScaling"]
    steps = [p for p in policies if p["PolicyType"] == "StepScaling"]
    assert len(tracking) == 1 and len(steps) == 1
    config = tracking[0]["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert config["TargetValue"] == 70 and config["DisableScaleIn"] is True and config["ScaleOutCooldown"] == 60
    step = steps[0]["StepScalingPolicyConfiguration"]
    assert step["Cooldown"] == 300 and step["AdjustmentType"] == "ChangeInCapacity"
    assert step["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]
    step_key = next(
        k for k, v in stack.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").items() if v["Properties"] is steps[0]
    )
    alarm = next(
        v["Properties"]
        for v in stack.of_type("AWS::CloudWatch::Alarm").values()
        if v["Properties"].get("AlarmActions") == [{"Ref": step_key}]
    )
    assert alarm["MetricName"] == "CPUUtilization" and alarm["Threshold"] == 30
    assert alarm["ComparisonOperator"] == "LessThanOrEqualToThreshold"
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 180 and alarm["DatapointsToAlarm"] == 3


def test_request_count_scaling_for_the_backend_is_switched_by_config(stack: Synthesized, tuned: Synthesized) -> None:
    _, policies = _scaling(stack, "backend")
    assert not [p for p in policies if "ALBRequestCountPerTarget" in json.dumps(p)]
    _, policies = _scaling(tuned, "backend")
    (request,) = [p for p in policies if "ALBRequestCountPerTarget" in json.dumps(p)]
    config = request["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 500 and config["DisableScaleIn"] is True
    _, frontend_policies = _scaling(tuned, "frontend")
    assert not [p for p in frontend_policies if "ALBRequestCountPerTarget" in json.dumps(p)]


def test_backend_stop_timeout_exceeds_the_servers_graceful_budget(stack: Synthesized) -> None:
    """ECS sends SIGKILL after StopTimeout: the server must finish in-flight work first."""
    from tests.unit.test_load_balancer import backend_server_constant

    definition = container(stack, "backend")
    assert definition["StopTimeout"] > backend_server_constant("GRACEFUL_TIMEOUT_S")
    # The container health check (liveness, answered by the server without Python
    # or the database) gives up well after the probe's own 3 s client timeout.
    assert definition["HealthCheck"]["Timeout"] > 3
