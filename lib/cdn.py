"""CloudFront in front of the ALB and API Gateway, with origin shield and custom error pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from lib import error_pages
from lib.contract import (
    API_KEY_HEADER,
    EDGE_TEST_TRAFFIC_VALUE,
    ORIGIN_VERIFY_HEADER,
    TEST_TRAFFIC_HEADER,
    VIEWER_IP_HEADER,
    Names,
)
from lib.load_balancer import Origin
from lib.log_groups import log_group
from lib.nag import acknowledge, acknowledge_bucket_deployment

# Every status with a page in app/error-pages/pages.json gets a custom error response.
ERROR_CODES = tuple(sorted(error_pages.load_table()))
ERROR_CACHING_TTL = Duration.seconds(10)

# CloudFront Functions quota "Maximum size of a function" (Developer Guide, Quotas on
# CloudFront Functions): 10 KB of code; CreateFunction refuses more (FunctionSizeLimitExceeded).
FUNCTION_CODE_LIMIT_BYTES = 10 * 1024
# Runs on every viewer request of the default behavior: client routes ask for /index.html.
APP_SHELL_FUNCTION = Path(__file__).resolve().parent / "functions" / "app_shell.js"


def function_code(path: Path) -> str:
    """The source of a CloudFront Function, refused at synth when CloudFront would refuse it at deploy."""
    code = path.read_text(encoding="utf-8")
    size = len(code.encode("utf-8"))
    if size > FUNCTION_CODE_LIMIT_BYTES:
        raise ValueError(
            f"CloudFront Function {path.name} is {size} bytes; CloudFront accepts at most "
            f"{FUNCTION_CODE_LIMIT_BYTES} bytes of function code"
        )
    if "function handler(" not in code:
        raise ValueError(f"CloudFront Function {path.name} defines no `function handler(event)`, which CloudFront calls")
    return code


# Runs on every /api/* viewer request: the viewer's address, as CloudFront saw
# the TCP connection, replaces whatever the client put in the header.
VIEWER_IP_FUNCTION = f"""function handler(event) {{
  var request = event.request;
  request.headers['{VIEWER_IP_HEADER}'] = {{ value: event.viewer.ip }};
  return request;
}}
"""


class Cdn(Construct):
    """Distribution: `/*` and `/assets/*` to the ALB, `/api/*` to API Gateway, `/errors/*` to S3."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        origin: Origin,
        origin_verify_value: str,
        rest_api: apigw.RestApiBase,
        web_api_key_value: str,
        edge_secret_receivers: Sequence[IConstruct],
        log_bucket: s3.IBucket,
        price_class: str,
        shield_region: str,
    ) -> None:
        """`edge_secret_receivers`: what checks the values CloudFront sends (ALB rules, WAF, web API keys)."""
        super().__init__(scope, construct_id)
        name = names
        shield = shield_region
        verify = origin_verify_value
        # CloudFront replaces a viewer's header of the same name with an origin
        # custom header, so no viewer chooses the X-Blue-Green-Test value the
        # origin sees (the blue/green test route is for operators only).
        strip_test_route = {TEST_TRAFFIC_HEADER: EDGE_TEST_TRAFFIC_VALUE}

        # ----------------------------------------------------------- error pages
        self.error_pages_bucket = s3.Bucket(
            self,
            "ErrorPages",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="error-pages/",
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        deployment_logs = log_group(self, "ErrorPagesDeploymentLogs")
        self.error_pages_deployment = s3deploy.BucketDeployment(
            self,
            "ErrorPagesDeployment",
            sources=[s3deploy.Source.asset(str(error_pages.build()))],
            destination_bucket=self.error_pages_bucket,
            destination_key_prefix="errors/",
            cache_control=[s3deploy.CacheControl.from_string("public, max-age=300")],
            prune=True,
            retain_on_delete=False,
            log_group=deployment_logs,
        )

        self._acknowledge_deployment_provider()

        # ----------------------------------------------------------- origins
        protocol = cloudfront.OriginProtocolPolicy.HTTPS_ONLY if origin.https else cloudfront.OriginProtocolPolicy.HTTP_ONLY
        alb_origin = origins.HttpOrigin(
            origin.host,
            protocol_policy=protocol,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            custom_headers={ORIGIN_VERIFY_HEADER: verify, **strip_test_route},
            origin_shield_enabled=True,
            origin_shield_region=shield,
            read_timeout=Duration.seconds(30),
        )
        api_origin = origins.RestApiOrigin(
            rest_api,
            custom_headers={ORIGIN_VERIFY_HEADER: verify, API_KEY_HEADER: web_api_key_value, **strip_test_route},
            origin_shield_enabled=True,
            origin_shield_region=shield,
        )
        errors_origin = origins.S3BucketOrigin.with_origin_access_control(self.error_pages_bucket)

        # ----------------------------------------------------------- policies
        html_cache = cloudfront.CachePolicy(
            self,
            "HtmlCache",
            cache_policy_name=name("cache-html"),
            comment="Honours the origin's Cache-Control (index.html: s-maxage=60, browsers revalidate)",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.days(1),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        # Content-hashed assets (nginx: max-age=31536000, immutable): AWS's managed CachingOptimized
        # (no cookies, query strings or headers in the key; the origin's year honoured) instead of
        # a policy of our own. Custom cache policies count against a per-account quota of 20
        # (lib/quotas.py) that every environment of the account shares; managed ones do not.
        assets_cache = cloudfront.CachePolicy.CACHING_OPTIMIZED
        api_cache = cloudfront.CachePolicy(
            self,
            "ApiCache",
            cache_policy_name=name("cache-api"),
            comment="Caches only what the API marks cacheable; query strings and Origin in the key",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.hours(1),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            # CORS answers differ per Origin, so a cached one must not be shared across origins.
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Origin"),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        self.security_headers = security_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=name("security-headers"),
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=False
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(protection=True, mode_block=True, override=True),
            ),
        )
        self.viewer_ip_function = cloudfront.Function(
            self,
            "ViewerIp",
            function_name=name("viewer-ip"),
            comment="Sets x-viewer-ip from the connection, overriding the client's value",
            code=cloudfront.FunctionCode.from_inline(VIEWER_IP_FUNCTION),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )

        self.app_shell_function = cloudfront.Function(
            self,
            "AppShell",
            function_name=name("app-shell"),
            comment="Client routes of the web app (extension-less paths) are served as /index.html",
            code=cloudfront.FunctionCode.from_inline(function_code(APP_SHELL_FUNCTION)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )

        def behavior(origin: cloudfront.IOrigin, cache: cloudfront.ICachePolicy, **extra: object) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=origin,
                cache_policy=cache,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                compress=True,
                response_headers_policy=security_headers,
                **extra,  # type: ignore[arg-type]
            )

        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Media streaming web and API ({names.suffix})",
            default_behavior=behavior(
                alb_origin,
                html_cache,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=self.app_shell_function,
                        event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                    )
                ],
            ),
            additional_behaviors={
                "/assets/*": behavior(alb_origin, assets_cache),
                "/api/*": behavior(
                    api_origin,
                    api_cache,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    function_associations=[
                        cloudfront.FunctionAssociation(
                            function=self.viewer_ip_function,
                            event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                        )
                    ],
                ),
                "/errors/*": behavior(errors_origin, cloudfront.CachePolicy.CACHING_OPTIMIZED),
            },
            error_responses=[
                cloudfront.ErrorResponse(
                    http_status=code,
                    response_http_status=code,
                    response_page_path=f"/errors/{code}.html",
                    ttl=ERROR_CACHING_TTL,
                )
                for code in ERROR_CODES
            ],
            price_class=cloudfront.PriceClass[price_class.replace("PriceClass_", "PRICE_CLASS_").upper()],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_ipv6=True,
            publish_additional_metrics=True,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"
        # On an edge-secret rotation the receivers take the new values before
        # CloudFront sends them: the ALB rules and the WAF accept it, and the new
        # web API key is in the web usage plan.
        distribution = self.distribution.node.default_child
        assert distribution is not None
        distribution.node.add_dependency(*edge_secret_receivers)

        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The video catalog is served worldwide by design; there are no licensing regions to restrict.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "The API behind /api/* is protected by the regional WAF (per-viewer-IP limit, managed rules); the rest "
            "is static, cached content. A CloudFront web ACL would have to live in us-east-1, outside this stack.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The distribution uses the default *.cloudfront.net certificate, whose TLS policy CloudFront fixes; "
            "viewers are redirected to HTTPS. A custom domain with its own certificate is a separate decision.",
        )
        if not origin.https:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR5",
                "Without a certificate on the ALB the origin is reached over HTTP (HTTPS-only would answer 502); "
                "the ALB refuses requests without the origin-verify secret. Configure certificateArn for HTTPS.",
            )

    def _acknowledge_deployment_provider(self) -> None:
        """Findings on the bucket-deployment function, which aws-cdk-lib owns (one per stack)."""
        stack = Stack.of(self)
        # The function is a singleton at stack level, not a child of the deployment.
        handler = next(child for child in stack.node.children if child.node.id.startswith("Custom::CDKBucketDeployment"))
        acknowledge_bucket_deployment(
            handler,
            bucket=self.error_pages_bucket.node.default_child,  # type: ignore[arg-type]
            copies="copies and prunes the error pages in the error-pages bucket",
        )
