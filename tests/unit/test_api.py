"""API Gateway `api-<suffix>`: proxy to the ALB, API keys and usage plans, stage settings, WAF per-IP limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.support import ORIGIN_DOMAIN, SUFFIX, TUNED, Synthesized

# ---------------------------------------------------------------- helpers


def logical_id(stack: Synthesized, resource_type: str, **properties: Any) -> str:
    """The one resource of `resource_type` whose properties include `properties`."""
    found = [
        key
        for key, value in stack.of_type(resource_type).items()
        if all(value.get("Properties", {}).get(k) == v for k, v in properties.items())
    ]
    assert len(found) == 1, f"expected one {resource_type} with {properties}, found {found}"
    return found[0]


def secret_reference(stack: Synthesized, secret_name: str) -> dict[str, Any]:
    """The CloudFormation dynamic reference CDK writes for the whole value of secret `secret_name`."""
    secret = logical_id(stack, "AWS::SecretsManager::Secret", Name=secret_name)
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString:::}}"]]}


def quoted(reference: dict[str, Any]) -> dict[str, Any]:
    """The same reference as an API Gateway static value ('...')."""
    parts = reference["Fn::Join"][1]
    return {"Fn::Join": ["", [f"'{parts[0]}", parts[1], f"{parts[2]}'"]]}


def rest_api(stack: Synthesized) -> str:
    return logical_id(stack, "AWS::ApiGateway::RestApi", Name=f"api-{SUFFIX}")


def stage(stack: Synthesized) -> str:
    return logical_id(stack, "AWS::ApiGateway::Stage", StageName="prod")


def alb_dns(stack: Synthesized) -> dict[str, Any]:
    alb, _ = stack.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    return {"Fn::GetAtt": [alb, "DNSName"]}


def methods(stack: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """(resource path part, HTTP method) -> Method properties; the root resource is "/"."""
    parts = {key: value["Properties"]["PathPart"] for key, value in stack.of_type("AWS::ApiGateway::Resource").items()}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for value in stack.of_type("AWS::ApiGateway::Method").values():
        props = value["Properties"]
        resource = props["ResourceId"]
        path = "/" if resource == {"Fn::GetAtt": [rest_api(stack), "RootResourceId"]} else parts[resource["Ref"]]
        found[(path, props["HttpMethod"])] = props
    return found


def web_acl(stack: Synthesized) -> dict[str, Any]:
    _, acl = stack.one("AWS::WAFv2::WebACL")
    properties = acl["Properties"]
    assert isinstance(properties, dict)
    return properties


def waf_rule(stack: Synthesized, name: str) -> dict[str, Any]:
    (rule,) = [r for r in web_acl(stack)["Rules"] if r["Name"] == name]
    assert isinstance(rule, dict)
    return rule


def carries_verify_secret(stack: Synthesized) -> dict[str, Any]:
    """The WAF statement 'header x-origin-verify is exactly the origin-verify secret'."""
    return {
        "ByteMatchStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": "x-origin-verify"}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": secret_reference(stack, f"origin-verify-{SUFFIX}"),
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


BLOCK_429 = {"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "rate-limited"}}}


# ---------------------------------------------------------------- REST API and methods


def test_rest_api_is_named_and_regional(stack: Synthesized) -> None:
    props = stack.resources[rest_api(stack)]["Properties"]
    assert props["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_api_has_exactly_any_and_options_on_the_root_and_the_greedy_proxy(stack: Synthesized) -> None:
    assert set(methods(stack)) == {("/", "ANY"), ("/", "OPTIONS"), ("{proxy+}", "ANY"), ("{proxy+}", "OPTIONS")}
    (proxy,) = stack.of_type("AWS::ApiGateway::Resource").values()
    assert proxy["Properties"]["ParentId"] == {"Fn::GetAtt": [rest_api(stack), "RootResourceId"]}


@pytest.mark.parametrize("method", ["ANY", "OPTIONS"])
def test_proxy_method_is_an_http_proxy_to_the_alb_with_the_path_mapped(stack: Synthesized, method: str) -> None:
    props = methods(stack)[("{proxy+}", method)]
    integration = props["Integration"]
    assert integration["Type"] == "HTTP_PROXY"
    assert integration["IntegrationHttpMethod"] == "ANY"
    assert integration["Uri"] == {"Fn::Join": ["", ["http://", alb_dns(stack), "/{proxy}"]]}
    assert integration["RequestParameters"]["integration.request.path.proxy"] == "method.request.path.proxy"
    assert props["RequestParameters"] == {"method.request.path.proxy": True}


@pytest.mark.parametrize("method", ["ANY", "OPTIONS"])
def test_root_method_is_an_http_proxy_to_the_alb_root(stack: Synthesized, method: str) -> None:
    integration = methods(stack)[("/", method)]["Integration"]
    assert integration["Type"] == "HTTP_PROXY"
    assert integration["IntegrationHttpMethod"] == "ANY"
    assert integration["Uri"] == {"Fn::Join": ["", ["http://", alb_dns(stack), "/"]]}
    assert "integration.request.path.proxy" not in integration["RequestParameters"]


def test_every_integration_adds_the_origin_verify_header_from_secrets_manager(stack: Synthesized) -> None:
    expected = quoted(secret_reference(stack, f"origin-verify-{SUFFIX}"))
    for key, props in methods(stack).items():
        value = props["Integration"]["RequestParameters"]["integration.request.header.X-Origin-Verify"]
        # A static API Gateway value ('...') whose content CloudFormation resolves
        # from Secrets Manager at deploy time: never a literal in the template.
        assert value == expected, f"{key} adds {value!r}"


def test_integrations_time_out_before_the_api_gateway_limit(stack: Synthesized) -> None:
    assert {props["Integration"]["TimeoutInMillis"] for props in methods(stack).values()} == {29000}


def test_with_a_certificate_the_api_reaches_the_origin_domain_over_https(tuned: Synthesized) -> None:
    found = methods(tuned)
    assert found[("{proxy+}", "ANY")]["Integration"]["Uri"] == f"https://{ORIGIN_DOMAIN}/{{proxy}}"
    assert found[("/", "ANY")]["Integration"]["Uri"] == f"https://{ORIGIN_DOMAIN}/"


def test_any_methods_require_an_api_key(stack: Synthesized) -> None:
    for path in ("/", "{proxy+}"):
        assert methods(stack)[(path, "ANY")]["ApiKeyRequired"] is True, path


def test_options_preflight_takes_no_key_and_is_answered_by_the_backend(stack: Synthesized) -> None:
    for path in ("/", "{proxy+}"):
        options, any_method = methods(stack)[(path, "OPTIONS")], methods(stack)[(path, "ANY")]
        # Browsers send no API key on a preflight.
        assert options["ApiKeyRequired"] is False, path
        assert options["AuthorizationType"] == "NONE", path
        # Proxied like ANY (not a MOCK), so the backend's CORS configuration answers.
        assert options["Integration"] == any_method["Integration"], path
    assert all(p["Integration"]["Type"] != "MOCK" for p in methods(stack).values())


# ---------------------------------------------------------------- keys and usage plans


def usage_plan(stack: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    key = logical_id(stack, "AWS::ApiGateway::UsagePlan", UsagePlanName=f"usage-plan-{name}-{SUFFIX}")
    return key, stack.resources[key]["Properties"]


def plan_keys(stack: Synthesized, plan: str) -> list[str]:
    return [
        v["Properties"]["KeyId"]["Ref"]
        for v in stack.of_type("AWS::ApiGateway::UsagePlanKey").values()
        if v["Properties"]["UsagePlanId"] == {"Ref": plan} and v["Properties"]["KeyType"] == "API_KEY"
    ]


@pytest.mark.parametrize("name", ["web", "partner"])
def test_usage_plan_is_linked_to_the_prod_stage_and_its_own_key(stack: Synthesized, name: str) -> None:
    plan, props = usage_plan(stack, name)
    assert [(s["ApiId"], s["Stage"]) for s in props["ApiStages"]] == [({"Ref": rest_api(stack)}, {"Ref": stage(stack)})]
    key = logical_id(stack, "AWS::ApiGateway::ApiKey", Name=f"api-key-{name}-{SUFFIX}")
    assert stack.resources[key]["Properties"]["Enabled"] is True
    assert plan_keys(stack, plan) == [key]


def test_web_key_value_is_the_secret_cloudfront_sends_as_x_api_key(stack: Synthesized) -> None:
    key = logical_id(stack, "AWS::ApiGateway::ApiKey", Name=f"api-key-web-{SUFFIX}")
    reference = secret_reference(stack, f"api-key-web-{SUFFIX}")
    assert stack.resources[key]["Properties"]["Value"] == reference
    _, distribution = stack.one("AWS::CloudFront::Distribution")
    sent = [
        header["HeaderValue"]
        for origin in distribution["Properties"]["DistributionConfig"]["Origins"]
        for header in origin.get("OriginCustomHeaders", [])
        if header["HeaderName"].lower() == "x-api-key"
    ]
    assert sent == [reference]


def test_web_plan_throttles_at_the_stage_ceiling_without_a_quota(stack: Synthesized) -> None:
    _, props = usage_plan(stack, "web")
    assert props["Throttle"] == {"RateLimit": 5000, "BurstLimit": 2000}
    assert "Quota" not in props


def test_partner_plan_has_a_daily_quota_and_a_per_key_throttle(stack: Synthesized) -> None:
    _, props = usage_plan(stack, "partner")
    assert props["Quota"] == {"Limit": 100_000, "Period": "DAY"}
    assert props["Throttle"] == {"RateLimit": 100, "BurstLimit": 200}


def test_partner_quota_comes_from_config(tuned: Synthesized) -> None:
    _, props = usage_plan(tuned, "partner")
    assert props["Quota"] == {"Limit": TUNED["partner_quota_per_day"], "Period": "DAY"}


def test_partner_key_value_is_generated_by_api_gateway(stack: Synthesized) -> None:
    key = logical_id(stack, "AWS::ApiGateway::ApiKey", Name=f"api-key-partner-{SUFFIX}")
    assert "Value" not in stack.resources[key]["Properties"]


# ---------------------------------------------------------------- stage


def stage_props(stack: Synthesized) -> dict[str, Any]:
    props: dict[str, Any] = stack.resources[stage(stack)]["Properties"]
    return props


def test_stage_prod_belongs_to_the_api(stack: Synthesized) -> None:
    props = stage_props(stack)
    assert props["RestApiId"] == {"Ref": rest_api(stack)}
    deployment = props["DeploymentId"]["Ref"]
    assert stack.resources[deployment]["Type"] == "AWS::ApiGateway::Deployment"


def test_stage_writes_json_access_logs_to_a_30_day_log_group(stack: Synthesized) -> None:
    setting = stage_props(stack)["AccessLogSetting"]
    # arn:aws:logs:<region>:<account>:log-group:<name>, without the ":*" suffix.
    parts = setting["DestinationArn"]["Fn::Join"][1]
    assert parts[0] == "arn:aws:logs:ap-southeast-1:" and parts[2] == ":log-group:"
    group = parts[3]["Ref"]
    log_group = stack.resources[group]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["LogGroupName"] == f"/aws/apigateway/api-{SUFFIX}/access"
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Delete"
    record = json.loads(setting["Format"])  # one JSON object per request
    assert record["requestId"] == "$context.requestId"
    for field in ("ip", "httpMethod", "resourcePath", "status", "requestTime", "responseLength"):
        assert field in record, field


def test_stage_has_metrics_error_logging_and_xray_tracing(stack: Synthesized) -> None:
    props = stage_props(stack)
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert settings["HttpMethod"] == "*" and settings["ResourcePath"] == "/*"
    assert settings["MetricsEnabled"] is True
    assert settings["LoggingLevel"] == "ERROR"
    # Request and response bodies (API keys, secrets) never go to the execution logs.
    assert settings["DataTraceEnabled"] is False


def test_stage_throttling_defaults(stack: Synthesized) -> None:
    (settings,) = stage_props(stack)["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (5000, 2000)


def test_stage_throttling_and_web_plan_follow_config(tuned: Synthesized) -> None:
    (settings,) = stage_props(tuned)["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == TUNED["api_throttle_rate"]
    assert settings["ThrottlingBurstLimit"] == TUNED["api_throttle_burst"]
    _, web = usage_plan(tuned, "web")
    assert web["Throttle"] == {"RateLimit": TUNED["api_throttle_rate"], "BurstLimit": TUNED["api_throttle_burst"]}


# ---------------------------------------------------------------- WAF


def test_web_acl_is_regional_allows_by_default_and_is_named(stack: Synthesized) -> None:
    props = web_acl(stack)
    assert props["Name"] == f"waf-api-{SUFFIX}"
    assert props["Scope"] == "REGIONAL"
    assert props["DefaultAction"] == {"Allow": {}}
    assert props["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True


def test_web_acl_is_associated_with_the_prod_stage(stack: Synthesized) -> None:
    acl, _ = stack.one("AWS::WAFv2::WebACL")
    _, association = stack.one("AWS::WAFv2::WebACLAssociation")
    props = association["Properties"]
    assert props["WebACLArn"] == {"Fn::GetAtt": [acl, "Arn"]}
    assert props["ResourceArn"] == {
        "Fn::Join": [
            "",
            [
                "arn:aws:apigateway:ap-southeast-1::/restapis/",
                {"Ref": rest_api(stack)},
                "/stages/",
                {"Ref": stage(stack)},
            ],
        ]
    }


def test_direct_callers_are_limited_to_1000_per_minute_per_source_ip(stack: Synthesized) -> None:
    rule = waf_rule(stack, "per-ip-direct")
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == 1000
    assert statement["EvaluationWindowSec"] == 60
    assert statement["AggregateKeyType"] == "IP"
    # Requests that carry the origin-verify secret come from CloudFront, whose
    # addresses many viewers share: the next rule counts those per viewer.
    assert statement["ScopeDownStatement"] == {"NotStatement": {"Statement": carries_verify_secret(stack)}}
    assert rule["Action"] == BLOCK_429


def test_cloudfront_viewers_are_limited_to_1000_per_minute_per_viewer_ip(stack: Synthesized) -> None:
    rule = waf_rule(stack, "per-ip-via-cloudfront")
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == 1000
    assert statement["EvaluationWindowSec"] == 60
    assert statement["AggregateKeyType"] == "CUSTOM_KEYS"
    # The header the CloudFront Function writes from the connection; never X-Forwarded-For.
    assert statement["CustomKeys"] == [
        {"Header": {"Name": "x-viewer-ip", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    ]
    assert statement["ScopeDownStatement"] == carries_verify_secret(stack)
    assert rule["Action"] == BLOCK_429


def test_the_two_rate_rules_cover_every_request_exactly_once(stack: Synthesized) -> None:
    direct = waf_rule(stack, "per-ip-direct")["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    via_cloudfront = waf_rule(stack, "per-ip-via-cloudfront")["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    assert direct == {"NotStatement": {"Statement": via_cloudfront}}
    assert "x-forwarded-for" not in json.dumps(web_acl(stack)).lower()


def test_rate_limited_response_is_a_json_429_body(stack: Synthesized) -> None:
    body = web_acl(stack)["CustomResponseBodies"]["rate-limited"]
    assert body["ContentType"] == "APPLICATION_JSON"
    document = json.loads(body["Content"])
    assert document["error"]["code"] == "rate_limited"
    assert document["error"]["message"]


def test_managed_rule_groups_are_applied(stack: Synthesized) -> None:
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]: r
        for r in web_acl(stack)["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert set(managed) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    for name, rule in managed.items():
        assert rule["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS", name
        # The groups' own actions apply (an override to "count" would disarm them).
        assert rule["OverrideAction"] == {"None": {}}, name


def test_rules_have_unique_priorities_and_metrics(stack: Synthesized) -> None:
    rules = web_acl(stack)["Rules"]
    assert len({r["Priority"] for r in rules}) == len(rules)
    assert len({r["VisibilityConfig"]["MetricName"] for r in rules}) == len(rules)
    for rule in rules:
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True, rule["Name"]
        assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True, rule["Name"]


def test_waf_logs_go_to_a_30_day_aws_waf_logs_group_with_the_secrets_redacted(stack: Synthesized) -> None:
    acl, _ = stack.one("AWS::WAFv2::WebACL")
    group = logical_id(stack, "AWS::Logs::LogGroup", LogGroupName=f"aws-waf-logs-{SUFFIX}")
    assert stack.resources[group]["Properties"]["RetentionInDays"] == 30
    assert stack.resources[group]["DeletionPolicy"] == "Delete"
    _, logging = stack.one("AWS::WAFv2::LoggingConfiguration")
    props = logging["Properties"]
    assert props["ResourceArn"] == {"Fn::GetAtt": [acl, "Arn"]}
    (destination,) = props["LogDestinationConfigs"]
    assert json.dumps(destination).endswith(f':log-group:aws-waf-logs-{SUFFIX}"]]}}')
    assert ":logs:ap-southeast-1:" in json.dumps(destination)
    redacted = {f["SingleHeader"]["Name"] for f in props["RedactedFields"]}
    assert {"x-origin-verify", "x-api-key"} <= redacted
    assert group in logging["DependsOn"]


def test_per_ip_limit_from_config_changes_both_rate_rules(tuned: Synthesized) -> None:
    for name in ("per-ip-direct", "per-ip-via-cloudfront"):
        statement = waf_rule(tuned, name)["Statement"]["RateBasedStatement"]
        assert statement["Limit"] == TUNED["per_ip_limit_per_minute"], name
        assert statement["EvaluationWindowSec"] == 60, name
