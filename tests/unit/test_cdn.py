"""CloudFront: behaviors and origins, the viewer-IP function, error pages from S3, HTTP/HTTPS origin variants, outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_cloudfront as cloudfront

from lib import error_pages
from lib.cdn import ERROR_CODES
from lib.contract import EDGE_TEST_TRAFFIC_VALUE, TEST_TRAFFIC_HEADER
from scripts import cdn_model
from tests.unit.support import BLOCK_ALL_PUBLIC_ACCESS, ORIGIN_DOMAIN, SUFFIX, Synthesized

ROOT = Path(__file__).resolve().parents[2]
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ONE_YEAR = 365 * 24 * 3600


# ---------------------------------------------------------------- helpers


def config(stack: Synthesized) -> dict[str, Any]:
    _, distribution = stack.one("AWS::CloudFront::Distribution")
    props: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
    return props


def behaviors(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """Path pattern -> cache behavior; the default behavior under "/*"."""
    found = {b["PathPattern"]: b for b in config(stack)["CacheBehaviors"]}
    found["/*"] = config(stack)["DefaultCacheBehavior"]
    return found


def origin_of(stack: Synthesized, path: str) -> dict[str, Any]:
    target = behaviors(stack)[path]["TargetOriginId"]
    (origin,) = [o for o in config(stack)["Origins"] if o["Id"] == target]
    assert isinstance(origin, dict)
    return origin


def cache_policy(stack: Synthesized, path: str) -> dict[str, Any]:
    """The cache policy of a behavior: the template's own, or an AWS managed one named by its id."""
    policy = behaviors(stack)[path]["CachePolicyId"]
    if isinstance(policy, str):
        return cdn_model.MANAGED_CACHE_POLICIES[policy]
    props: dict[str, Any] = stack.resources[policy["Ref"]]["Properties"]["CachePolicyConfig"]
    return props


def alb_dns(stack: Synthesized) -> dict[str, Any]:
    alb, _ = stack.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    return {"Fn::GetAtt": [alb, "DNSName"]}


def secret_reference(stack: Synthesized, secret_name: str) -> dict[str, Any]:
    (secret,) = [k for k, v in stack.of_type("AWS::SecretsManager::Secret").items() if v["Properties"]["Name"] == secret_name]
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString:::}}"]]}


def evaluate(value: Any, stack: Synthesized) -> Any:
    """Evaluate the intrinsic functions CDK uses to split the API URL, with readable stand-ins for deploy-time values."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            if argument == "AWS::URLSuffix":
                return "amazonaws.com"
            if argument.startswith("AWS::"):
                return f"<{argument}>"
            resource = stack.resources[argument]
            if resource["Type"] == "AWS::ApiGateway::Stage":
                return resource["Properties"]["StageName"]  # Ref of a stage is its name
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            return argument[0].join(evaluate(part, stack) for part in argument[1])
        if function == "Fn::Split":
            return evaluate(argument[1], stack).split(argument[0])
        if function == "Fn::Select":
            return evaluate(argument[1], stack)[argument[0]]
    return value


def listener_ports(stack: Synthesized) -> dict[int, str]:
    return {
        v["Properties"]["Port"]: v["Properties"]["Protocol"]
        for v in stack.of_type("AWS::ElasticLoadBalancingV2::Listener").values()
    }


def error_pages_bucket(stack: Synthesized) -> str:
    (bucket,) = [k for k in stack.of_type("AWS::S3::Bucket") if k.startswith("CdnErrorPages")]
    return bucket


# ---------------------------------------------------------------- behaviors


def test_exactly_six_behaviors(stack: Synthesized) -> None:
    assert set(behaviors(stack)) == {"/*", "/assets/*", "/api/*", "/errors/*", "/media/*/poster.jpg", "/media/*"}


def test_default_behavior_serves_the_app_from_the_alb_honouring_its_cache_control(stack: Synthesized) -> None:
    assert origin_of(stack, "/*")["DomainName"] == alb_dns(stack)
    policy = cache_policy(stack, "/*")
    # MinTTL 0 lets the origin's Cache-Control rule (index.html: s-maxage=60, the release
    # bound); DefaultTTL 0 means nothing is cached that the origin did not mark cacheable.
    assert policy["MinTTL"] == 0
    assert policy["DefaultTTL"] == 0
    assert policy["Name"] == f"cache-html-{SUFFIX}"


def test_assets_are_cached_for_a_year_keyed_on_the_path_only(stack: Synthesized) -> None:
    assert origin_of(stack, "/assets/*")["DomainName"] == alb_dns(stack)
    # AWS's managed CachingOptimized: nginx's max-age=31536000 (immutable) is honoured up to its MaxTTL.
    assert behaviors(stack)["/assets/*"]["CachePolicyId"] == cloudfront.CachePolicy.CACHING_OPTIMIZED.cache_policy_id
    policy = cache_policy(stack, "/assets/*")
    assert policy["MaxTTL"] >= ONE_YEAR
    assert policy["ParametersInCacheKeyAndForwardedToOrigin"]["EnableAcceptEncodingBrotli"] is True
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}


def test_api_behavior_targets_the_prod_stage_of_api_gateway(stack: Synthesized) -> None:
    origin = origin_of(stack, "/api/*")
    api = next(iter(stack.of_type("AWS::ApiGateway::RestApi")))
    assert evaluate(origin["DomainName"], stack) == f"<{api}>.execute-api.ap-southeast-1.amazonaws.com"
    assert evaluate(origin["OriginPath"], stack) == "/prod"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_api_behavior_keys_on_query_strings_and_caches_only_what_the_api_marks(stack: Synthesized) -> None:
    policy = cache_policy(stack, "/api/*")
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert policy["MinTTL"] == 0 and policy["DefaultTTL"] == 0


def test_api_behavior_forwards_viewer_headers_except_host(stack: Synthesized) -> None:
    assert behaviors(stack)["/api/*"]["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER


def test_api_behavior_sends_the_web_api_key_and_the_verify_secret_as_origin_headers(stack: Synthesized) -> None:
    headers = {h["HeaderName"].lower(): h["HeaderValue"] for h in origin_of(stack, "/api/*")["OriginCustomHeaders"]}
    assert headers["x-api-key"] == secret_reference(stack, f"api-key-web-{SUFFIX}")
    assert headers["x-origin-verify"] == secret_reference(stack, f"origin-verify-{SUFFIX}")


def test_api_behavior_allows_writes_and_preflight(stack: Synthesized) -> None:
    api = behaviors(stack)["/api/*"]
    assert {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"} == set(api["AllowedMethods"])
    assert set(api["CachedMethods"]) <= {"GET", "HEAD", "OPTIONS"}


def test_api_behavior_runs_the_viewer_ip_function_on_viewer_request(stack: Synthesized) -> None:
    function = stack.logical_id("AWS::CloudFront::Function", Name=f"viewer-ip-{SUFFIX}")
    assert behaviors(stack)["/api/*"]["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function, "FunctionARN"]}}
    ]
    for path in ("/assets/*", "/errors/*"):
        assert "FunctionAssociations" not in behaviors(stack)[path], path


def test_errors_behavior_reads_the_private_bucket_through_origin_access_control(stack: Synthesized) -> None:
    origin = origin_of(stack, "/errors/*")
    bucket = error_pages_bucket(stack)
    assert origin["DomainName"] == {"Fn::GetAtt": [bucket, "RegionalDomainName"]}
    oac = origin["OriginAccessControlId"]["Fn::GetAtt"][0]
    control = stack.resources[oac]
    assert control["Type"] == "AWS::CloudFront::OriginAccessControl"
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac, "Id"]}
    assert control["Properties"]["OriginAccessControlConfig"] == {
        "Name": control["Properties"]["OriginAccessControlConfig"]["Name"],
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    # OAC, not the legacy origin access identity.
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    assert not stack.of_type("AWS::CloudFront::CloudFrontOriginAccessIdentity")


def test_error_pages_bucket_policy_lets_only_this_distribution_read(stack: Synthesized) -> None:
    bucket = error_pages_bucket(stack)
    distribution, _ = stack.one("AWS::CloudFront::Distribution")
    (policy,) = [v for v in stack.of_type("AWS::S3::BucketPolicy").values() if v["Properties"]["Bucket"] == {"Ref": bucket}]
    reads = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert len(reads) == 1
    (read,) = reads
    assert read["Effect"] == "Allow"
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}
    source = read["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert evaluate(source, stack) == f"arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<{distribution}>"


# ---------------------------------------------------------------- viewer-IP function


def function_code(stack: Synthesized) -> str:
    function = stack.resources[stack.logical_id("AWS::CloudFront::Function", Name=f"viewer-ip-{SUFFIX}")]
    code: str = function["Properties"]["FunctionCode"]
    return code


def test_viewer_ip_function_is_published_on_the_js_2_runtime(stack: Synthesized) -> None:
    function = stack.resources[stack.logical_id("AWS::CloudFront::Function", Name=f"viewer-ip-{SUFFIX}")]
    props = function["Properties"]
    assert props["Name"] == f"viewer-ip-{SUFFIX}"
    assert props["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert props["AutoPublish"] is True
    code = function_code(stack)
    assert "request.headers['x-viewer-ip'] = { value: event.viewer.ip }" in code


def run_function(code: str, event: dict[str, Any]) -> dict[str, Any]:
    """The function's answer to one event, run under node as the CDN model runs it."""
    return cdn_model.run_function(code, [event])[0]


def viewer_request(viewer_ip: str, headers: dict[str, str]) -> dict[str, Any]:
    """A CloudFront Functions viewer-request event (event structure 1.0)."""
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EDFDVBD6EXAMPLE", "requestId": "r-1"},
        "viewer": {"ip": viewer_ip},
        "request": {
            "method": "GET",
            "uri": "/api/videos",
            "querystring": {"q": {"value": "space"}},
            "headers": {name: {"value": value} for name, value in headers.items()},
            "cookies": {},
        },
    }


def test_viewer_ip_function_overrides_a_forged_header_with_the_connection_address(stack: Synthesized) -> None:
    event = viewer_request(
        "198.51.100.23",
        {"host": "d111111abcdef8.cloudfront.net", "x-viewer-ip": "203.0.113.1", "x-forwarded-for": "203.0.113.1"},
    )
    request = run_function(function_code(stack), event)
    assert request["headers"]["x-viewer-ip"] == {"value": "198.51.100.23"}
    # The rest of the request passes unchanged (X-Forwarded-For is not trusted by the WAF anyway).
    assert request["uri"] == "/api/videos"
    assert request["querystring"] == {"q": {"value": "space"}}
    assert request["headers"]["x-forwarded-for"] == {"value": "203.0.113.1"}
    assert request["headers"]["host"] == {"value": "d111111abcdef8.cloudfront.net"}


def test_viewer_ip_function_sets_the_header_when_the_client_sent_none(stack: Synthesized) -> None:
    request = run_function(function_code(stack), viewer_request("2001:db8::7", {"host": "d111111abcdef8.cloudfront.net"}))
    assert request["headers"]["x-viewer-ip"] == {"value": "2001:db8::7"}


# ---------------------------------------------------------------- distribution-wide settings


@pytest.mark.parametrize("path", ["/*", "/assets/*", "/api/*"])
def test_origin_shield_in_the_stack_region_on_alb_and_api_origins(stack: Synthesized, path: str) -> None:
    assert origin_of(stack, path)["OriginShield"] == {"Enabled": True, "OriginShieldRegion": "ap-southeast-1"}


@pytest.mark.parametrize("path", ["/*", "/assets/*", "/api/*", "/errors/*"])
def test_every_behavior_compresses_redirects_to_https_and_adds_security_headers(stack: Synthesized, path: str) -> None:
    behavior = behaviors(stack)[path]
    assert behavior["Compress"] is True
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    policy = behavior["ResponseHeadersPolicyId"]["Ref"]
    headers = stack.resources[policy]["Properties"]["ResponseHeadersPolicyConfig"]
    assert headers["Name"] == f"security-headers-{SUFFIX}"


def test_security_headers_policy_sets_hsts_nosniff_and_frame_deny(stack: Synthesized) -> None:
    _, policy = stack.one("AWS::CloudFront::ResponseHeadersPolicy")
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= ONE_YEAR
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"]["FrameOption"] == "DENY"


def test_http2_and_3_ipv6_and_the_configured_price_class(stack: Synthesized) -> None:
    props = config(stack)
    assert props["HttpVersion"] == "http2and3"
    assert props["IPV6Enabled"] is True
    assert props["Enabled"] is True
    assert props["PriceClass"] == "PriceClass_200"


def test_price_class_comes_from_config(tuned: Synthesized) -> None:
    assert config(tuned)["PriceClass"] == "PriceClass_100"


def test_custom_error_responses_show_the_s3_pages_with_the_original_status(stack: Synthesized) -> None:
    responses = {r["ErrorCode"]: r for r in config(stack)["CustomErrorResponses"]}
    # What viewers must never see as CloudFront's bare page: denied, missing, and origin failures.
    assert {403, 404, 500, 502, 503, 504} <= set(responses)
    assert sorted(responses) == list(ERROR_CODES)
    for code, response in responses.items():
        assert response == {
            "ErrorCode": code,
            "ResponseCode": code,
            "ResponsePagePath": f"/errors/{code}.html",
            "ErrorCachingMinTTL": 10,
        }


def test_error_pages_are_not_served_by_the_alb(stack: Synthesized) -> None:
    # The pages must show when the ALB is what failed.
    errors = origin_of(stack, "/errors/*")
    assert errors["DomainName"] != alb_dns(stack)
    assert "S3OriginConfig" in errors and "CustomOriginConfig" not in errors
    for response in config(stack)["CustomErrorResponses"]:
        assert response["ResponsePagePath"].startswith("/errors/"), response


def test_additional_metrics_are_on(stack: Synthesized) -> None:
    distribution, _ = stack.one("AWS::CloudFront::Distribution")
    _, subscription = stack.one("AWS::CloudFront::MonitoringSubscription")
    props = subscription["Properties"]
    assert props["DistributionId"] == {"Ref": distribution}
    assert props["MonitoringSubscription"] == {
        "RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": "Enabled"}
    }


def test_standard_logs_go_to_the_access_log_bucket(stack: Synthesized) -> None:
    logging = config(stack)["Logging"]
    assert logging["Bucket"]["Fn::GetAtt"][0].startswith("AccessLogsBucket")
    assert logging["Prefix"] == "cloudfront/"


# ---------------------------------------------------------------- origin protocol variants


@pytest.mark.parametrize("path", ["/*", "/assets/*"])
def test_without_a_certificate_the_alb_origin_is_http_only_on_the_http_listener(stack: Synthesized, path: str) -> None:
    origin = origin_of(stack, path)
    assert origin["DomainName"] == alb_dns(stack)
    settings = origin["CustomOriginConfig"]
    assert settings["OriginProtocolPolicy"] == "http-only"
    port = settings.get("HTTPPort", 80)  # CloudFormation's default
    assert listener_ports(stack).get(port) == "HTTP"


@pytest.mark.parametrize("path", ["/*", "/assets/*"])
def test_with_a_certificate_the_alb_origin_is_https_only_to_the_domain(tuned: Synthesized, path: str) -> None:
    origin = origin_of(tuned, path)
    assert origin["DomainName"] == ORIGIN_DOMAIN
    settings = origin["CustomOriginConfig"]
    assert settings["OriginProtocolPolicy"] == "https-only"
    assert settings["OriginSSLProtocols"] == ["TLSv1.2"]
    port = settings.get("HTTPSPort", 443)  # CloudFormation's default
    assert listener_ports(tuned).get(port) == "HTTPS"


@pytest.mark.parametrize("path", ["/*", "/assets/*"])
def test_alb_origin_carries_the_origin_verify_secret(stack: Synthesized, path: str) -> None:
    headers = {h["HeaderName"]: h["HeaderValue"] for h in origin_of(stack, path)["OriginCustomHeaders"]}
    # Plus the blue/green test header, overwritten so that viewers cannot choose it.
    assert headers == {
        "X-Origin-Verify": secret_reference(stack, f"origin-verify-{SUFFIX}"),
        TEST_TRAFFIC_HEADER: EDGE_TEST_TRAFFIC_VALUE,
    }


# ---------------------------------------------------------------- error-pages bucket and deployment


def test_error_pages_bucket_is_private_encrypted_tls_only_and_destroyable(stack: Synthesized) -> None:
    bucket = error_pages_bucket(stack)
    resource = stack.resources[bucket]
    props = resource["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert resource["DeletionPolicy"] == "Delete"
    (policy,) = [v for v in stack.of_type("AWS::S3::BucketPolicy").values() if v["Properties"]["Bucket"] == {"Ref": bucket}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Action"] == "s3:*" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    auto_delete = [
        v for v in stack.of_type("Custom::S3AutoDeleteObjects").values() if v["Properties"]["BucketName"] == {"Ref": bucket}
    ]
    assert len(auto_delete) == 1


def deployment(stack: Synthesized) -> dict[str, Any]:
    """The error pages' deployment (the media bucket has its own, see test_media.py)."""
    (props,) = [
        r["Properties"]
        for r in stack.of_type("Custom::CDKBucketDeployment").values()
        if r["Properties"]["DestinationBucketName"] == {"Ref": error_pages_bucket(stack)}
    ]
    assert isinstance(props, dict)
    return props


def test_error_pages_are_deployed_under_errors_and_removed_on_destroy(stack: Synthesized) -> None:
    props = deployment(stack)
    assert props["DestinationBucketName"] == {"Ref": error_pages_bucket(stack)}
    assert props["DestinationBucketKeyPrefix"] == "errors/"
    # RetainOnDelete false: the objects go with the stack (and the bucket can be emptied).
    assert props["RetainOnDelete"] is False
    assert props["Prune"] is True


def staged_error_pages(stack: Synthesized) -> dict[str, bytes]:
    """File name -> bytes of the asset the error pages' deployment copies into the bucket."""
    (key,) = deployment(stack)["SourceObjectKeys"]
    files = stack.asset_manifest()["files"]
    (asset,) = [a for a in files.values() if any(d["objectKey"] == key for d in a["destinations"].values())]
    staged = stack.assembly_dir / asset["source"]["path"]
    return {p.name: p.read_bytes() for p in staged.iterdir()}


def test_deployed_error_pages_are_exactly_those_the_template_and_table_render(stack: Synthesized) -> None:
    # Nothing hand-edited, stale or stray reaches the bucket: the asset is the rendering of the sources.
    staged = staged_error_pages(stack)
    rendered = error_pages.render_pages()
    assert sorted(staged) == sorted(rendered)
    for name, content in rendered.items():
        assert staged[name] == content, f"the deployed {name} differs from what template.html and pages.json render"


def test_every_configured_error_response_has_its_generated_page_and_every_page_a_response(stack: Synthesized) -> None:
    prefix = "/" + deployment(stack)["DestinationBucketKeyPrefix"]
    paths = {r["ResponsePagePath"] for r in config(stack)["CustomErrorResponses"]}
    served = {prefix + name for name in staged_error_pages(stack)}
    assert paths - served == set(), "error responses whose page is not deployed"
    assert served - paths == set(), "deployed pages no error response shows"


def test_deployment_function_logs_to_a_30_day_group(stack: Synthesized) -> None:
    service_token = deployment(stack)["ServiceToken"]["Fn::GetAtt"][0]
    function = stack.resources[service_token]
    assert function["Type"] == "AWS::Lambda::Function"
    group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert stack.resources[group]["Properties"]["RetentionInDays"] == 30
    assert stack.resources[group]["DeletionPolicy"] == "Delete"


# ---------------------------------------------------------------- outputs


def test_urls_and_endpoints_in_the_outputs_point_where_they_say(stack: Synthesized) -> None:
    outputs = {k: v["Value"] for k, v in stack.json["Outputs"].items()}
    distribution, _ = stack.one("AWS::CloudFront::Distribution")
    cluster, _ = stack.one("AWS::RDS::DBCluster")
    assert outputs["CloudFrontURL"] == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}
    api = next(iter(stack.of_type("AWS::ApiGateway::RestApi")))
    assert evaluate(outputs["ApiGatewayEndpoint"], stack) == f"https://<{api}>.execute-api.ap-southeast-1.amazonaws.com/prod/"
    assert outputs["RdsEndpoint"] == {"Fn::GetAtt": [cluster, "Endpoint.Address"]}
    assert outputs["RdsReaderEndpoint"] == {"Fn::GetAtt": [cluster, "ReadEndpoint.Address"]}
    assert outputs["AlbDnsName"] == alb_dns(stack)
