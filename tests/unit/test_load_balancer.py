"""ALB: listeners, origin-verify rules, blue/green target groups, access logs; HTTP and HTTPS variants."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from lib.load_balancer import FORBIDDEN_BODY
from lib.network import security_group_type
from tests.unit.support import BLOCK_ALL_PUBLIC_ACCESS, SUFFIX, Synthesized


def listeners(stack: Synthesized) -> dict[int, dict[str, Any]]:
    return {v["Properties"]["Port"]: v["Properties"] for v in stack.of_type("AWS::ElasticLoadBalancingV2::Listener").values()}


def rules(stack: Synthesized) -> list[dict[str, Any]]:
    return [v["Properties"] for v in stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values()]


def attributes(props: dict[str, Any]) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in props.get("LoadBalancerAttributes", props.get("TargetGroupAttributes", []))}


def test_alb_is_internet_facing_in_public_subnets_behind_its_security_group(stack: Synthesized) -> None:
    _, alb = stack.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    props = alb["Properties"]
    assert props["Name"] == f"alb-{SUFFIX}"
    assert props["Scheme"] == "internet-facing"
    assert sorted(s["Ref"] for s in props["Subnets"]) == sorted(
        k for k in stack.of_type("AWS::EC2::Subnet") if "publicSubnet" in k
    )
    alb_group = next(
        k
        for k, v in stack.of_type("AWS::EC2::SecurityGroup").items()
        if v["Properties"].get("GroupName") == f"{security_group_type('alb')}-{SUFFIX}"
    )
    assert props["SecurityGroups"] == [{"Fn::GetAtt": [alb_group, "GroupId"]}]
    attrs = attributes(props)
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == "false"


def test_alb_access_logs_go_to_the_log_bucket(stack: Synthesized) -> None:
    _, alb = stack.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    attrs = attributes(alb["Properties"])
    assert attrs["access_logs.s3.enabled"] == "true"
    assert attrs["access_logs.s3.prefix"] == "alb"
    bucket = alb["Properties"]["LoadBalancerAttributes"]
    assert any("AccessLogsBucket" in json.dumps(a) for a in bucket)


def forbidden_function(stack: Synthesized, action: dict[str, Any]) -> dict[str, Any]:
    """The Lambda function behind a forward default action (its single target)."""
    assert action["Type"] == "forward", f"default action {action['Type']}: the listener must only forward"
    group = stack.resources[action["TargetGroupArn"]["Ref"]]["Properties"]
    assert group["TargetType"] == "lambda"
    assert group["Name"] == f"tg-forbidden-{SUFFIX}"
    (target,) = group["Targets"]
    function = stack.resources[target["Id"]["Fn::GetAtt"][0]]["Properties"]
    assert isinstance(function, dict)
    return function


def run_inline_handler(function: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(function["Code"]["ZipFile"], "index.py", "exec"), namespace)  # noqa: S102 - the function's own inline code
    response: dict[str, Any] = namespace["handler"]({"path": "/", "httpMethod": "GET", "headers": {}}, None)
    return response


def test_without_certificate_only_http_80_with_a_403_default(stack: Synthesized) -> None:
    found = listeners(stack)
    assert set(found) == {80}
    http = found[80]
    assert http["Protocol"] == "HTTP"
    (action,) = http["DefaultActions"]
    response = run_inline_handler(forbidden_function(stack, action))
    assert response["statusCode"] == 403
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == json.loads(FORBIDDEN_BODY)


@pytest.mark.parametrize("variant", ["stack", "tuned"])
def test_the_blue_green_listener_only_forwards(request: pytest.FixtureRequest, variant: str) -> None:
    """Every action on the listener that holds the ECS production and test rules is a forward.

    Editions of the ECS guide say blue/green deployments fail on a listener that mixes
    forward and non-forward (fixed-response, redirect, authenticate) actions.
    """
    stack: Synthesized = request.getfixturevalue(variant)
    (listener_id,) = {r["ListenerArn"]["Ref"] for r in rules(stack)}
    listener = stack.resources[listener_id]["Properties"]
    actions = listener["DefaultActions"] + [a for r in rules(stack) for a in r["Actions"]]
    assert {a["Type"] for a in actions} == {"forward"}
    forbidden_function(stack, listener["DefaultActions"][0])


def test_with_certificate_https_443_and_80_redirects(tuned: Synthesized) -> None:
    found = listeners(tuned)
    assert set(found) == {80, 443}
    https = found[443]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"][0]["CertificateArn"].startswith("arn:aws:acm:ap-southeast-1:")
    assert run_inline_handler(forbidden_function(tuned, https["DefaultActions"][0]))["statusCode"] == 403
    redirect = found[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS" and redirect["RedirectConfig"]["Port"] == "443"
    # The rules hang off the HTTPS listener.
    https_listener = next(
        k for k, v in tuned.of_type("AWS::ElasticLoadBalancingV2::Listener").items() if v["Properties"]["Port"] == 443
    )
    assert all(r["ListenerArn"] == {"Ref": https_listener} for r in rules(tuned))


def _conditions(rule: dict[str, Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for condition in rule["Conditions"]:
        if condition["Field"] == "path-pattern":
            found["path"] = condition["PathPatternConfig"]["Values"]
        if condition["Field"] == "http-header":
            found[condition["HttpHeaderConfig"]["HttpHeaderName"]] = condition["HttpHeaderConfig"]["Values"]
    return found


def _weights(rule: dict[str, Any]) -> dict[str, int]:
    (action,) = rule["Actions"]
    assert action["Type"] == "forward"
    return {tg["TargetGroupArn"]["Ref"]: tg["Weight"] for tg in action["ForwardConfig"]["TargetGroups"]}


@pytest.mark.parametrize(("service", "path"), [("Backend", "/api/*"), ("Frontend", "/*")])
def test_path_rules_require_the_origin_verify_secret_and_forward_blue_then_green(
    stack: Synthesized, service: str, path: str
) -> None:
    blue = next(
        k for k in stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup") if k.startswith(f"LoadBalancer{service}Blue")
    )
    green = next(
        k for k in stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup") if k.startswith(f"LoadBalancer{service}Green")
    )
    matching = [r for r in rules(stack) if _conditions(r).get("path") == [path]]
    production = [r for r in matching if "X-Blue-Green-Test" not in _conditions(r)]
    test = [r for r in matching if "X-Blue-Green-Test" in _conditions(r)]
    assert len(production) == 1 and len(test) == 1
    for rule in (production[0], test[0]):
        (verify,) = _conditions(rule)["X-Origin-Verify"]
        # A dynamic reference resolved by CloudFormation, never a literal.
        assert "{{resolve:secretsmanager:" in json.dumps(verify)
    assert _weights(production[0]) == {blue: 100, green: 0}
    assert _weights(test[0]) == {blue: 0, green: 100}
    assert test[0]["Priority"] < production[0]["Priority"]


def test_api_rules_are_evaluated_before_the_catch_all(stack: Synthesized) -> None:
    by_path = {tuple(_conditions(r)["path"]): r["Priority"] for r in rules(stack) if "X-Blue-Green-Test" not in _conditions(r)}
    assert by_path[("/api/*",)] < by_path[("/*",)]


def test_no_secret_literal_in_the_template(stack: Synthesized) -> None:
    text = stack.dumps()
    assert text.count("{{resolve:secretsmanager:") >= 4
    stack.template.has_resource_properties("AWS::SecretsManager::Secret", {"Name": f"origin-verify-{SUFFIX}"})


@pytest.mark.parametrize(
    ("name", "port"),
    [("tg-backend-blue", 8000), ("tg-backend-green", 8000), ("tg-frontend-blue", 8080), ("tg-frontend-green", 8080)],
)
def test_target_groups_health_check_and_deregistration(stack: Synthesized, name: str, port: int) -> None:
    groups = [
        v["Properties"]
        for v in stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup").values()
        if v["Properties"]["Name"] == f"{name}-{SUFFIX}"
    ]
    assert len(groups) == 1
    props = groups[0]
    assert len(props["Name"]) <= 32
    assert props["Port"] == port and props["Protocol"] == "HTTP" and props["TargetType"] == "ip"
    assert props["HealthCheckPath"] == "/health"
    assert props["HealthCheckIntervalSeconds"] == 30
    assert props["HealthCheckTimeoutSeconds"] == 5
    assert props["HealthyThresholdCount"] == 2
    assert props["UnhealthyThresholdCount"] == 3
    assert props["Matcher"] == {"HttpCode": "200"}
    assert attributes(props)["deregistration_delay.timeout_seconds"] == "30"


def test_access_log_bucket_is_private_tls_only_encrypted_expiring_and_destroyable(stack: Synthesized) -> None:
    buckets = {k: v for k, v in stack.of_type("AWS::S3::Bucket").items() if k.startswith("AccessLogsBucket")}
    assert len(buckets) == 1
    ((key, bucket),) = buckets.items()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    assert (
        props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        == "AES256"
    )
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    assert bucket["DeletionPolicy"] == "Delete"
    policy = next(v for v in stack.of_type("AWS::S3::BucketPolicy").values() if v["Properties"]["Bucket"] == {"Ref": key})
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)


def backend_server_constant(name: str) -> int:
    """A module-level constant of the backend's server config (app/backend/serve.py)."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "app/backend/serve.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return int(ast.literal_eval(node.value))
    raise AssertionError(f"{name} not found in serve.py")


def test_alb_idle_timeout_below_backend_keepalive(stack: Synthesized) -> None:
    """The ALB must close idle target connections before the task does, or it can
    send a request on a connection the task is closing (a 502)."""
    _, alb = stack.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    idle = int(attributes(alb["Properties"])["idle_timeout.timeout_seconds"])
    assert idle * 1000 < backend_server_constant("KEEPALIVE_MS")


def test_blue_green_live_context_keeps_production_where_ecs_left_it(longest_suffix_stack: Synthesized) -> None:
    """After a release ECS serves production from green; a deploy stating it must not move it back."""
    template = longest_suffix_stack.json
    groups = {
        k: v["Properties"]["Name"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
    }
    served: dict[str, str] = {}
    for rule in (
        v["Properties"] for v in template["Resources"].values() if v["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    ):
        (action,) = rule["Actions"]
        (serving,) = [groups[g["TargetGroupArn"]["Ref"]] for g in action["ForwardConfig"]["TargetGroups"] if g["Weight"] == 100]
        kind = "test" if len(rule["Conditions"]) == 3 else "production"
        served[f"{serving.split('-')[1]} {kind}"] = serving.split("-")[2]
    assert served == {
        "frontend production": "green",
        "frontend test": "blue",
        "backend production": "blue",
        "backend test": "green",
    }


@pytest.mark.parametrize("value", ["frontend=purple", "web=green", "frontend=green,frontend=blue", "frontend"])
def test_blue_green_live_rejects_what_it_cannot_mean(value: str) -> None:
    from lib.config import ConfigError, from_context

    with pytest.raises(ConfigError, match="blueGreenLive must list <service>=<color> pairs"):
        from_context({"blueGreenLive": value}.get, {})
