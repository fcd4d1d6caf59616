"""API Gateway `api-<suffix>` in front of the ALB, with API keys and a per-IP WAF limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from constructs import Construct, IConstruct

from lib.account_setup import ApiGatewayLoggingPrecondition
from lib.contract import EDGE_TEST_TRAFFIC_VALUE, ORIGIN_VERIFY_HEADER, TEST_TRAFFIC_HEADER, WEB_API_KEY_NAME, Names
from lib.load_balancer import Origin
from lib.log_groups import log_group
from lib.nag import acknowledge
from lib.shared_secrets import EdgeSecret, EdgeVersions
from lib.waf import ApiWebAcl

STAGE = "prod"


@dataclass(frozen=True)
class ApiLimits:
    """Request limits: the stage ceiling (also the web plan's), the partner plan's quota, and WAF's per-IP limit."""

    rate: int
    burst: int
    partner_quota_per_day: int
    per_ip_limit_per_minute: int


class Api(Construct):
    """REST API proxying every path to the ALB, keys per consumer, WAF per client IP."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        origin: Origin,
        origin_verify: EdgeSecret,
        origin_receivers: Sequence[IConstruct],
        edge_versions: EdgeVersions,
        limits: ApiLimits,
    ) -> None:
        """`origin_receivers`: what checks the origin-verify value at the origin (the ALB rules)."""
        super().__init__(scope, construct_id)
        self.names = names
        verify = origin_verify.current
        self.name = names("api")
        self.stage_name = STAGE

        self.access_log_group = log_group(self, "AccessLogs", f"/aws/apigateway/{self.name}/access")
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=self.name,
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
                throttling_rate_limit=limits.rate,
                throttling_burst_limit=limits.burst,
            ),
            default_method_options=apigw.MethodOptions(api_key_required=True),
        )
        # RestApi adds a CfnOutput of the stage URL with a generated key; the stack's
        # outputs are exactly those of lib/contract.py (it has ApiGatewayEndpoint).
        self.api.node.try_remove_child("Endpoint")

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
                f"{origin.url}{path}",
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
            method.node.add_dependency(*origin_receivers)
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
            names=names,
            kind=WEB_API_KEY_NAME,
            versions=edge_versions,
            description="API key that CloudFront sends for the web app",
            copied_into="the API Gateway web key and the CloudFront origin header",
        )
        # One API key per accepted edge-secret version. A key's value cannot
        # change in place (AWS::ApiGateway::ApiKey Value is create-only, and a
        # named key cannot be replaced), so a new version is a new key with its
        # own name; during a switch both keys are in the web usage plan and
        # CloudFront sends the new one.
        self.web_keys = [self._web_key(version) for version in edge_versions.accepted]
        self.web_key = self.web_keys[-1]
        self.web_key_value = self.web_key_secret.current
        self.partner_key = apigw.ApiKey(self, "PartnerApiKey", api_key_name=names("api-key-partner"), enabled=True)

        stage = self.api.deployment_stage
        web_plan = self.api.add_usage_plan(
            "WebUsagePlan",
            name=names("usage-plan-web"),
            description="The web app through CloudFront: the stage ceiling, no quota",
            throttle=apigw.ThrottleSettings(rate_limit=limits.rate, burst_limit=limits.burst),
        )
        web_plan.add_api_stage(stage=stage)
        for key in self.web_keys:
            web_plan.add_api_key(key)
        # What CloudFront must wait for before it sends a new web key value.
        self.web_plan_keys = [child for child in web_plan.node.find_all() if isinstance(child, apigw.CfnUsagePlanKey)]
        partner_plan = self.api.add_usage_plan(
            "PartnerUsagePlan",
            name=names("usage-plan-partner"),
            description="Partner integrations: per-key throttle and a daily quota",
            throttle=apigw.ThrottleSettings(rate_limit=100, burst_limit=200),
            quota=apigw.QuotaSettings(limit=limits.partner_quota_per_day, period=apigw.Period.DAY),
        )
        partner_plan.add_api_stage(stage=stage)
        partner_plan.add_api_key(self.partner_key)

        self.firewall = ApiWebAcl(
            self,
            names=names,
            stage_arn=stage.stage_arn,
            accepted_verify_values=origin_verify.accepted,
            per_ip_limit_per_minute=limits.per_ip_limit_per_minute,
        )

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
            api_key_name=self.names(f"api-key-web{suffix}"),
            value=self.web_key_secret.value(version),
            enabled=True,
        )
