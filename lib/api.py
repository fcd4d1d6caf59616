"""API Gateway `api-<suffix>` in front of the ALB, with API keys and a per-IP WAF limit."""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from lib.account_setup import WAF_LOG_GROUP_PREFIX, ApiGatewayLoggingPrecondition
from lib.config import EDGE_TEST_TRAFFIC_VALUE, ORIGIN_VERIFY_HEADER, TEST_TRAFFIC_HEADER, WEB_API_KEY_NAME, PlatformConfig
from lib.load_balancer import LoadBalancer
from lib.log_groups import log_group
from lib.nag import acknowledge
from lib.shared_secrets import EdgeSecret

STAGE = "prod"
API_KEY_HEADER = "x-api-key"
# Set by the CloudFront Function from the viewer's address; clients cannot forge it.
VIEWER_IP_HEADER = "x-viewer-ip"
RATE_WINDOW_SECONDS = 60
RATE_LIMITED_BODY_KEY = "rate-limited"
RATE_LIMITED_BODY = json.dumps(
    {"error": {"code": "rate_limited", "message": "Too many requests from this address; retry in a minute."}}
)


class Api(Construct):
    """REST API proxying every path to the ALB, keys per consumer, WAF per client IP."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        load_balancer: LoadBalancer,
        origin_host: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        verify = load_balancer.origin_verify.current
        scheme = "https" if config.https_enabled else "http"

        self.access_log_group = log_group(self, "AccessLogs", f"/aws/apigateway/{config.name('api')}/access")
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=config.name("api"),
            description="Catalog API: proxies every path to the ALB with the origin-verify header",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access and execution logs need API Gateway's account-level CloudWatch
            # role: one per account and region, so it belongs to TapAccountSetup, not
            # to an environment (destroying one would stop the others' logs).
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                metrics_enabled=True,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                # The overall ceiling; per-client limits are the WAF's and the usage plans'.
                throttling_rate_limit=config.api_throttle_rate,
                throttling_burst_limit=config.api_throttle_burst,
            ),
            default_method_options=apigw.MethodOptions(api_key_required=True),
        )

        def integration(path: str) -> apigw.HttpIntegration:
            parameters = {
                f"integration.request.header.{ORIGIN_VERIFY_HEADER}": f"'{verify}'",
                # A static value overrides whatever the caller sent: nobody reaches
                # the blue/green test route through API Gateway.
                f"integration.request.header.{TEST_TRAFFIC_HEADER}": f"'{EDGE_TEST_TRAFFIC_VALUE}'",
            }
            if "{proxy}" in path:
                parameters["integration.request.path.proxy"] = "method.request.path.proxy"
            return apigw.HttpIntegration(
                f"{scheme}://{origin_host}{path}",
                http_method="ANY",
                proxy=True,
                options=apigw.IntegrationOptions(request_parameters=parameters, timeout=Duration.seconds(29)),
            )

        proxy_parameters = {"method.request.path.proxy": True}
        proxy = self.api.root.add_resource("{proxy+}")
        self.api.root.add_method("ANY", integration("/"))
        proxy.add_method("ANY", integration("/{proxy}"), request_parameters=proxy_parameters)
        # CORS preflight: browsers send no API key on OPTIONS, so these methods
        # take none; the backend answers with its configured allowed origins.
        self.api.root.add_method("OPTIONS", integration("/"), api_key_required=False)
        proxy.add_method("OPTIONS", integration("/{proxy}"), api_key_required=False, request_parameters=proxy_parameters)
        self.url = self.api.url
        # The ALB accepts a new origin-verify value before API Gateway sends it:
        # on a rotation CloudFormation updates the listener rules first.
        for method in self.api.methods:
            method.node.add_dependency(*load_balancer.listener_rules)
        # API Gateway would create its execution-log group itself, kept forever;
        # pre-created here so it is kept 30 days and deleted with the stack.
        self.execution_log_group = log_group(self, "ExecutionLogs", f"API-Gateway-Execution-Logs_{self.api.rest_api_id}/{STAGE}")
        self.api.deployment_stage.node.add_dependency(self.execution_log_group)
        # A stage with logging fails to create when the account has no CloudWatch role:
        # check first and fail with the command that fixes it.
        self.logging_precondition = ApiGatewayLoggingPrecondition(self, "LoggingPrecondition")
        self.api.deployment_stage.node.add_dependency(self.logging_precondition.check)

        # The web key's value lives in Secrets Manager so CloudFront can send it
        # as an origin header; both get it as a dynamic reference.
        self.web_key_secret = EdgeSecret(
            self,
            "WebApiKeyValue",
            config=config,
            kind=WEB_API_KEY_NAME,
            description="API key that CloudFront sends for the web app",
            copied_into="the API Gateway web key and the CloudFront origin header",
        )
        # One API key per accepted edge-secret version. A key's value cannot
        # change in place (AWS::ApiGateway::ApiKey Value is create-only, and a
        # named key cannot be replaced), so a new version is a new key with its
        # own name; during a switch both keys are in the web usage plan and
        # CloudFront sends the new one.
        self.web_keys = [self._web_key(version) for version in config.edge_secret_versions]
        self.web_key = self.web_keys[-1]
        self.web_key_value = self.web_key_secret.current
        self.partner_key = apigw.ApiKey(self, "PartnerApiKey", api_key_name=config.name("api-key-partner"), enabled=True)

        stage = self.api.deployment_stage
        web_plan = self.api.add_usage_plan(
            "WebUsagePlan",
            name=config.name("usage-plan-web"),
            description="The web app through CloudFront: the stage ceiling, no quota",
            throttle=apigw.ThrottleSettings(rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst),
        )
        web_plan.add_api_stage(stage=stage)
        for key in self.web_keys:
            web_plan.add_api_key(key)
        # What CloudFront must wait for before it sends a new web key value.
        self.web_plan_keys = [child for child in web_plan.node.find_all() if isinstance(child, apigw.CfnUsagePlanKey)]
        partner_plan = self.api.add_usage_plan(
            "PartnerUsagePlan",
            name=config.name("usage-plan-partner"),
            description="Partner integrations: per-key throttle and a daily quota",
            throttle=apigw.ThrottleSettings(rate_limit=100, burst_limit=200),
            quota=apigw.QuotaSettings(limit=config.partner_quota_per_day, period=apigw.Period.DAY),
        )
        partner_plan.add_api_stage(stage=stage)
        partner_plan.add_api_key(self.partner_key)

        self._waf(load_balancer.origin_verify.accepted)

        acknowledge(
            self.api,
            "AwsSolutions-APIG4",
            "Callers are identified by API keys (usage plans per consumer) and limited per IP by WAF; the catalog "
            "is public content, so there is no end-user identity to authorize.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-COG4",
            "No Cognito user pool: the catalog is public content; access is controlled by API keys and WAF.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "Request validation is done by the backend, which answers malformed input with a 400 JSON body "
            "described in its OpenAPI spec; the gateway is a pass-through proxy.",
        )

    def _web_key(self, version: str | None) -> apigw.ApiKey:
        """The web key for one edge-secret version; the initial one keeps its original id and name."""
        suffix = "" if version is None else f"-{version}"
        return apigw.ApiKey(
            self,
            f"WebApiKey{suffix}",
            api_key_name=self.config.name(f"api-key-web{suffix}"),
            value=self.web_key_secret.value(version),
            enabled=True,
        )

    def _waf(self, accepted_verify_values: list[str]) -> None:
        config = self.config
        limit = config.per_ip_limit_per_minute

        def header_is(value: str) -> wafv2.CfnWebACL.StatementProperty:
            return wafv2.CfnWebACL.StatementProperty(
                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                    field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": ORIGIN_VERIFY_HEADER.lower()}),
                    positional_constraint="EXACTLY",
                    search_string=value,
                    text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                )
            )

        def carries_verify_secret() -> wafv2.CfnWebACL.StatementProperty:
            # During an edge-secret switch either value counts (an OrStatement needs two or more).
            if len(accepted_verify_values) == 1:
                return header_is(accepted_verify_values[0])
            return wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(
                    statements=[header_is(value) for value in accepted_verify_values]
                )
            )

        def block_429() -> wafv2.CfnWebACL.RuleActionProperty:
            return wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=429, custom_response_body_key=RATE_LIMITED_BODY_KEY
                    )
                )
            )

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        def managed(priority: int, name: str) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(vendor_name="AWS", name=name)
                ),
                visibility_config=visibility(name),
            )

        rules = [
            managed(0, "AWSManagedRulesAmazonIpReputationList"),
            # Direct callers (partners, scripts): counted per source IP. Requests
            # that carry the origin-verify secret come from CloudFront, whose
            # addresses many viewers share, so they are excluded here.
            wafv2.CfnWebACL.RuleProperty(
                name="per-ip-direct",
                priority=1,
                action=block_429(),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=limit,
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                        aggregate_key_type="IP",
                        scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                            not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=carries_verify_secret())
                        ),
                    )
                ),
                visibility_config=visibility("per-ip-direct"),
            ),
            # Viewers through CloudFront: counted per viewer IP, which the
            # CloudFront Function writes over anything the client sent.
            wafv2.CfnWebACL.RuleProperty(
                name="per-ip-via-cloudfront",
                priority=2,
                action=block_429(),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=limit,
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                        aggregate_key_type="CUSTOM_KEYS",
                        custom_keys=[
                            wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                                header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                                    name=VIEWER_IP_HEADER,
                                    text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                                )
                            )
                        ],
                        scope_down_statement=carries_verify_secret(),
                    )
                ),
                visibility_config=visibility("per-ip-via-cloudfront"),
            ),
            managed(3, "AWSManagedRulesCommonRuleSet"),
            managed(4, "AWSManagedRulesKnownBadInputsRuleSet"),
        ]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=config.name("waf-api"),
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                RATE_LIMITED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=RATE_LIMITED_BODY
                )
            },
            rules=rules,
            visibility_config=visibility(config.name("waf-api")),
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

        log_group_name = f"{WAF_LOG_GROUP_PREFIX}{config.environment_suffix}"
        self.waf_log_group = log_group(self, "WafLogs", log_group_name)  # WAF requires the aws-waf-logs- prefix
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # The shared secrets never reach the logs.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": ORIGIN_VERIFY_HEADER.lower()}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": API_KEY_HEADER}),
            ],
        )
        logging.node.add_dependency(self.waf_log_group)
