"""Every log group a service would create on its own is created by the stack first (30 days, destroyed with it).

A service that finds no group creates one with "never expire" retention that
`cdk destroy` leaves behind. Names are derived from the template, per resource
type, from each service's documented naming of the groups it creates.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.support import Synthesized
from tests.unit.template_graph import waits_for

INSIGHTS_ON = ("enabled", "enhanced")


def render(value: Any) -> str:
    """A name as text, with references kept symbolic: {"Ref": "X"} -> "${X}"."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(p) for p in parts)
    raise AssertionError(f"cannot render {value!r} as a log group name")


def implicit_log_groups(resources: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Log group name -> (the resource whose service writes to it, why), for every implicit group."""
    expected: dict[str, tuple[str, str]] = {}
    for key, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::ECS::Cluster":
            settings = {s["Name"]: s["Value"] for s in props.get("ClusterSettings", [])}
            if settings.get("containerInsights") in INSIGHTS_ON:
                # ECS Developer Guide, "Container Insights": performance log events go to
                # /aws/ecs/containerinsights/<cluster-name>/performance.
                name = f"/aws/ecs/containerinsights/{render(props['ClusterName'])}/performance"
                expected[name] = (key, "Container Insights performance events")
        elif kind == "AWS::ApiGateway::Stage":
            settings = props.get("MethodSettings", [])
            if any(s.get("LoggingLevel", "OFF") != "OFF" or s.get("DataTraceEnabled") for s in settings):
                # API Gateway Developer Guide, "Set up CloudWatch logging for REST APIs": execution
                # logs go to API-Gateway-Execution-Logs_{rest-api-id}/{stage_name}.
                name = f"API-Gateway-Execution-Logs_{render(props['RestApiId'])}/{render(props['StageName'])}"
                expected[name] = (key, "API Gateway execution logging")
        elif kind == "AWS::Lambda::Function":
            if "LogGroup" not in props.get("LoggingConfig", {}):
                # Lambda Developer Guide: by default a function logs to /aws/lambda/<function name>.
                function_name = render(props["FunctionName"]) if "FunctionName" in props else "${" + key + "}"
                expected[f"/aws/lambda/{function_name}"] = (key, "Lambda default log group")
        elif kind in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"):
            scope, id_key = (
                ("cluster", "DBClusterIdentifier") if kind == "AWS::RDS::DBCluster" else ("instance", "DBInstanceIdentifier")
            )
            for log_type in props.get("EnableCloudwatchLogsExports", []):
                # Aurora User Guide, "Publishing database logs to CloudWatch Logs":
                # /aws/rds/cluster/<cluster-name>/<log_type>.
                identifier = render(props.get(id_key, {"Ref": key}))
                expected[f"/aws/rds/{scope}/{identifier}/{log_type}"] = (key, f"RDS {log_type} log export")
            if props.get("MonitoringInterval", 0):
                # Enhanced Monitoring writes to the account-wide RDSOSMetrics group, which no
                # environment's stack can own without breaking the others.
                expected["RDSOSMetrics"] = (key, "RDS Enhanced Monitoring (account-wide group)")
        elif kind == "AWS::CloudFront::Function" and "console." in props.get("FunctionCode", ""):
            # CloudFront Functions log to /aws/cloudfront/function/<name> in us-east-1,
            # a region this stack does not manage.
            expected[f"us-east-1:/aws/cloudfront/function/{render(props['Name'])}"] = (key, "CloudFront Function logs")
        elif kind == "AWS::ECS::TaskDefinition":
            for container in props.get("ContainerDefinitions", []):
                options = container.get("LogConfiguration", {}).get("Options", {})
                if options.get("awslogs-create-group") in ("true", True):
                    expected[render(options["awslogs-group"])] = (key, "awslogs driver creating its group")
    return expected


def owned_log_groups(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Rendered name -> logical id of every log group the stack creates (named or referenced by Ref)."""
    owned = {}
    for key, resource in resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            name = resource.get("Properties", {}).get("LogGroupName")
            owned[render(name) if name is not None else "${" + key + "}"] = key
    return owned


@pytest.fixture(params=["stack", "tuned"])
def variant(request: pytest.FixtureRequest) -> Synthesized:
    synthesized: Synthesized = request.getfixturevalue(request.param)
    return synthesized


def test_the_derivation_knows_what_each_service_creates() -> None:
    resources = {
        "Cluster": {
            "Type": "AWS::ECS::Cluster",
            "Properties": {"ClusterName": "c", "ClusterSettings": [{"Name": "containerInsights", "Value": "enhanced"}]},
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "prod", "MethodSettings": [{"LoggingLevel": "ERROR"}]},
        },
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "nodejs24.x"}},
        "Db": {
            "Type": "AWS::RDS::DBCluster",
            "Properties": {"DBClusterIdentifier": "a", "EnableCloudwatchLogsExports": ["postgresql"]},
        },
    }
    assert sorted(implicit_log_groups(resources)) == [
        "/aws/ecs/containerinsights/c/performance",
        "/aws/lambda/${Fn}",
        "/aws/rds/cluster/a/postgresql",
        "API-Gateway-Execution-Logs_${Api}/prod",
    ]


def test_every_implicit_log_group_is_owned_by_the_stack_and_exists_first(variant: Synthesized) -> None:
    resources = variant.resources
    owned = owned_log_groups(resources)
    expected = implicit_log_groups(resources)
    assert expected, "the template has no service that logs on its own: the derivation is broken"
    missing = [f"{name} ({why}, {key})" for name, (key, why) in expected.items() if name not in owned]
    assert not missing, "log groups a service would create itself (kept forever, left by cdk destroy):\n" + "\n".join(missing)
    for name, (key, why) in expected.items():
        group = owned[name]
        assert group in waits_for(resources, key), f"{key} ({why}) can start writing before its log group {name} exists"
        assert resources[group]["Properties"].get("RetentionInDays") == 30, name
        assert resources[group].get("DeletionPolicy") == "Delete", name


def test_functions_with_a_log_group_use_one_of_the_stack(variant: Synthesized) -> None:
    owned = set(owned_log_groups(variant.resources).values())
    for key, function in variant.of_type("AWS::Lambda::Function").items():
        target = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        if target is not None:
            assert isinstance(target, dict) and target.get("Ref") in owned, f"{key} logs to {target}"
