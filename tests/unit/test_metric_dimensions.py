"""Every dimension of every alarm and dashboard metric names a resource of this template.

A renamed resource whose name the observability tier restated would leave a
widget blank and an alarm forever in INSUFFICIENT_DATA, with nothing failing at
deploy time; here it fails the test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.contract import REGION
from tests.unit.support import Synthesized

# Dimension -> (resource type, how the value refers to it): the attribute a token must
# read, and the property a literal value must equal.
DIMENSIONS: dict[str, tuple[str, str | None, str | None]] = {
    "LoadBalancer": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName", None),
    "TargetGroup": ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName", None),
    "ClusterName": ("AWS::ECS::Cluster", "Ref", "ClusterName"),
    "ServiceName": ("AWS::ECS::Service", "Name", "ServiceName"),
    "DBClusterIdentifier": ("AWS::RDS::DBCluster", "Ref", "DBClusterIdentifier"),
    "DBInstanceIdentifier": ("AWS::RDS::DBInstance", "Ref", "DBInstanceIdentifier"),
    "ApiName": ("AWS::ApiGateway::RestApi", None, "Name"),
    "Stage": ("AWS::ApiGateway::Stage", "Ref", "StageName"),
    "WebACL": ("AWS::WAFv2::WebACL", None, "Name"),
    "DistributionId": ("AWS::CloudFront::Distribution", "Ref", None),
}
# Dimensions that name no resource: their allowed values.
# WAF metrics carry the stack's region; CloudFront's, Region=Global.
FIXED = {"Region": {"Global", REGION}, "Rule": {"ALL"}}


def _token(value: Any) -> str:
    """A CloudFormation reference as text: <Ref:Id> or <GetAtt:Id.Attribute>."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<Ref:{value['Ref']}>"
    if "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return f"<GetAtt:{resource}.{attribute}>"
    raise AssertionError(f"unexpected dimension value {value}")


def _dashboard_dimensions(body: Any) -> list[tuple[str, str, str]]:
    text = body if isinstance(body, str) else "".join(_token(part) for part in body["Fn::Join"][1])
    found = []
    for widget in json.loads(text)["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            names = [item for item in row if not isinstance(item, dict)]
            if not names:
                continue  # a math expression
            assert names[0] != ".", "the '.' shorthand hides which resource a row reads"
            for i in range(2, len(names) - 1, 2):
                found.append((f"dashboard {widget['properties'].get('title')}", names[i], names[i + 1]))
    return found


def _alarm_dimensions(key: str, alarm: dict[str, Any]) -> list[tuple[str, str, str]]:
    props = alarm["Properties"]
    lists = [props.get("Dimensions", [])]
    lists += [m["MetricStat"]["Metric"].get("Dimensions", []) for m in props.get("Metrics", []) if "MetricStat" in m]
    return [(f"alarm {key}", d["Name"], _token(d["Value"])) for dimensions in lists for d in dimensions]


def all_dimensions(stack: Synthesized) -> list[tuple[str, str, str]]:
    (_, dashboard) = stack.one("AWS::CloudWatch::Dashboard")
    found = _dashboard_dimensions(dashboard["Properties"]["DashboardBody"])
    for key, alarm in stack.of_type("AWS::CloudWatch::Alarm").items():
        found += _alarm_dimensions(key, alarm)
    return found


def unresolved(stack: Synthesized) -> list[str]:
    """Each dimension whose value names no resource of the expected type in the template."""
    problems = []
    for where, name, value in all_dimensions(stack):
        if name in FIXED:
            if value not in FIXED[name]:
                problems.append(f"{where}: {name}={value} (allowed {sorted(FIXED[name])})")
            continue
        if name not in DIMENSIONS:
            problems.append(f"{where}: dimension {name} has no rule here; add one")
            continue
        resource_type, attribute, name_property = DIMENSIONS[name]
        candidates = stack.of_type(resource_type)
        if value.startswith("<"):
            kind, _, target = value.strip("<>").partition(":")
            resource, _, got = target.partition(".")
            ok = resource in candidates and (got if kind == "GetAtt" else "Ref") == attribute
        else:
            ok = name_property is not None and any(r["Properties"].get(name_property) == value for r in candidates.values())
        if not ok:
            problems.append(f"{where}: {name}={value} names no {resource_type} of the template")
    return problems


@pytest.mark.parametrize("variant", ["stack", "tuned"])
def test_every_metric_dimension_names_a_resource_of_the_template(variant: str, request: pytest.FixtureRequest) -> None:
    stack: Synthesized = request.getfixturevalue(variant)
    dimensions = all_dimensions(stack)
    # Every kind of dimension the platform watches is checked at least once.
    assert {name for _, name, _ in dimensions} == set(DIMENSIONS) | set(FIXED)
    assert unresolved(stack) == []
