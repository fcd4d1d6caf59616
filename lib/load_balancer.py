"""Application Load Balancer `alb-<suffix>`: listeners, origin-verify rules, blue/green target groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_targets as elbv2_targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lib.contract import (
    BLUE_GREEN_COLORS,
    ORIGIN_VERIFY_HEADER,
    ORIGIN_VERIFY_NAME,
    TEST_ROUTE_NAME,
    TEST_TRAFFIC_HEADER,
    Names,
)
from lib.log_groups import function_role
from lib.network import BACKEND_PORT, FRONTEND_PORT, HTTP_PORT, HTTPS_PORT
from lib.shared_secrets import EdgeSecret, EdgeVersions

HEALTH_CHECK_PATH = "/health"
DEREGISTRATION_DELAY = Duration.seconds(30)
FORBIDDEN_BODY = '{"error":{"code":"forbidden","message":"Forbidden"}}'
# The listener's default action: a Lambda target that answers 403 with a JSON body.
# Older editions of the ECS guide ("Application Load Balancer resources for blue/green
# deployments", still in its de/es/pt/zh-TW translations) say blue/green deployments fail
# when a listener mixes forward and non-forward actions (fixed-response, redirect,
# authenticate); the current English page no longer lists it. A listener whose every
# action is a forward cannot hit that limitation, so the default 403 is served by a target
# instead of a fixed-response action.
FORBIDDEN_HANDLER = f"""
def handler(event, context):
    return {{
        "statusCode": 403,
        "statusDescription": "403 Forbidden",
        "isBase64Encoded": False,
        "headers": {{"Content-Type": "application/json", "Cache-Control": "no-store"}},
        "body": {FORBIDDEN_BODY!r},
    }}
"""
# Shorter than the backend's keep-alive (HEADER_READ_TIMEOUT_MS in
# app/backend/serve.py, 35 s): the ALB closes idle target connections first and
# never sends a request on one the task is closing.
IDLE_TIMEOUT = Duration.seconds(30)


@dataclass(frozen=True)
class Origin:
    """Where CloudFront and API Gateway reach the ALB: one host, and whether it speaks HTTPS."""

    host: str
    https: bool

    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


@dataclass(frozen=True)
class Route:
    """One workload's routing on the ALB: its target groups and listener rules."""

    name: str
    port: int
    blue: elbv2.ApplicationTargetGroup
    green: elbv2.ApplicationTargetGroup
    production_rule: elbv2.ApplicationListenerRule
    test_rule: elbv2.ApplicationListenerRule


class LoadBalancer(Construct):
    """Serves only requests carrying the origin-verify secret; everything else gets 403."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        edge_versions: EdgeVersions,
        certificate_arn: str | None,
        live_colors: Mapping[str, str],
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        log_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.names = names
        self.vpc = vpc
        self.live_colors = live_colors
        # The one answer to "does the origin speak HTTPS?": a certificate on the listener.
        self.https = certificate_arn is not None

        # Shared secret that CloudFront and API Gateway add as a header. It
        # reaches the template only as a CloudFormation dynamic reference.
        self.origin_verify = EdgeSecret(
            self,
            "OriginVerify",
            names=names,
            kind=ORIGIN_VERIFY_NAME,
            versions=edge_versions,
            description="Header value that proves a request came through CloudFront or API Gateway",
            copied_into="the ALB rules, the CloudFront origins, the API Gateway integrations and the WAF rules",
        )
        # Token an operator sends in X-Blue-Green-Test to reach the green target group.
        self.test_route = EdgeSecret(
            self,
            "TestRouteToken",
            names=names,
            kind=TEST_ROUTE_NAME,
            versions=edge_versions,
            description="X-Blue-Green-Test value that routes an operator's request to the green target group",
            copied_into="the ALB test listener rules",
        )

        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            load_balancer_name=names.load_balancer,
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_group=security_group,
            drop_invalid_header_fields=True,
            deletion_protection=False,
            http2_enabled=True,
            idle_timeout=IDLE_TIMEOUT,
        )
        self.alb.log_access_logs(log_bucket, prefix="alb")

        forbidden = elbv2.ListenerAction.forward([self._forbidden_target_group()])
        if certificate_arn is not None:
            self.listener = self.alb.add_listener(
                "Https",
                port=HTTPS_PORT,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                default_action=forbidden,
                open=False,
            )
            self.alb.add_listener(
                "HttpRedirect",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port=str(HTTPS_PORT), permanent=True),
                open=False,
            )
        else:
            self.listener = self.alb.add_listener(
                "Http",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_action=forbidden,
                open=False,
            )

        self.backend = self._route("backend", BACKEND_PORT, path="/api/*", priority=10)
        self.frontend = self._route("frontend", FRONTEND_PORT, path="/*", priority=30)

    @property
    def listener_rules(self) -> list[elbv2.ApplicationListenerRule]:
        """Every rule that checks an edge secret; senders of a new value wait for these."""
        return [rule for route in (self.backend, self.frontend) for rule in (route.test_rule, route.production_rule)]

    def origin(self, domain_name: str | None) -> Origin:
        """The ALB as an origin: by `domain_name` (which the certificate covers) when given, else by its DNS name."""
        return Origin(domain_name or self.alb.load_balancer_dns_name, self.https)

    def _forbidden_target_group(self) -> elbv2.ApplicationTargetGroup:
        """Lambda target answering 403 JSON to every request no rule matched (no origin secret)."""
        role, logs = function_role(self, "ForbiddenRole", description="Answers the ALB's default action; writes its logs only")
        function = lambda_.Function(
            self,
            "Forbidden",
            function_name=self.names("alb-forbidden"),
            description="Answers 403 to requests that reach the ALB without the origin-verify secret",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(FORBIDDEN_HANDLER),
            memory_size=128,
            timeout=Duration.seconds(3),
            role=role,
            log_group=logs,
        )
        return elbv2.ApplicationTargetGroup(
            self,
            "ForbiddenTargets",
            target_group_name=self.names("tg-forbidden"),
            targets=[elbv2_targets.LambdaTarget(function)],
        )

    def _target_group(self, workload: str, color: str, port: int) -> elbv2.ApplicationTargetGroup:
        return elbv2.ApplicationTargetGroup(
            self,
            f"{workload.capitalize()}{color.capitalize()}",
            target_group_name=self.names.target_group(workload, color),
            vpc=self.vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=DEREGISTRATION_DELAY,
            health_check=elbv2.HealthCheck(
                path=HEALTH_CHECK_PATH,
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
                healthy_http_codes="200",
            ),
        )

    def _route(self, name: str, port: int, *, path: str, priority: int) -> Route:
        title = name.capitalize()
        blue, green = (self._target_group(name, color, port) for color in BLUE_GREEN_COLORS)
        # During an edge-secret switch both the previous and the new value pass
        # (a header condition matches any of its values).
        verified = elbv2.ListenerCondition.http_header(ORIGIN_VERIFY_HEADER, self.origin_verify.accepted)
        operator = elbv2.ListenerCondition.http_header(TEST_TRAFFIC_HEADER, self.test_route.accepted)
        paths = elbv2.ListenerCondition.path_patterns([path])
        # Both rules name both target groups; ECS shifts the weights during a
        # deployment. Production starts on blue, test traffic on green; after a release
        # `blueGreenLive` states where ECS left production, so a deploy keeps it there.
        live = blue if self.live_colors[name] == "blue" else green
        idle = green if live is blue else blue
        test_rule = elbv2.ApplicationListenerRule(
            self,
            f"{title}TestRule",
            listener=self.listener,
            priority=priority,
            conditions=[paths, verified, operator],
            action=elbv2.ListenerAction.weighted_forward(
                [
                    elbv2.WeightedTargetGroup(target_group=blue, weight=100 if idle is blue else 0),
                    elbv2.WeightedTargetGroup(target_group=green, weight=100 if idle is green else 0),
                ]
            ),
        )
        production_rule = elbv2.ApplicationListenerRule(
            self,
            f"{title}ProductionRule",
            listener=self.listener,
            priority=priority + 10,
            conditions=[paths, verified],
            action=elbv2.ListenerAction.weighted_forward(
                [
                    elbv2.WeightedTargetGroup(target_group=blue, weight=100 if live is blue else 0),
                    elbv2.WeightedTargetGroup(target_group=green, weight=100 if live is green else 0),
                ]
            ),
        )
        return Route(name, port, blue, green, production_rule, test_rule)
