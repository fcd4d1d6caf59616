"""TapStack: composes the platform's constructs, wires them together, and exports outputs.

Constructs take the values and interfaces they use; this class is the one place
that knows which construct provides what to which, resolves the grants between
them, and maps the configuration onto each.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aspects, CfnOutput, Stack, Tags
from constructs import Construct

from lib.access_logs import AccessLogs
from lib.api import Api, ApiLimits
from lib.cdn import Cdn
from lib.config import PlatformConfig
from lib.contract import (
    BLUE_GREEN_SERVICES,
    INITIAL_EDGE_VERSION,
    NO_PREVIOUS_EDGE_VERSION,
    Output,
)
from lib.database import Database
from lib.load_balancer import LoadBalancer
from lib.log_groups import FunctionLogGroups
from lib.media import Media
from lib.network import DATABASE_PORT, Network
from lib.observability import Monitored, Observability, ServiceMetrics
from lib.parameters import Parameters
from lib.registry import Registry
from lib.services import PROXY_HOPS, Placement, Scaling, Services
from lib.shared_secrets import EdgeVersions


class TapStack(Stack):
    """The media-streaming platform for one environment (`TapStack<suffix>`)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        names = config.names

        for key, value in (
            ("Environment", config.environment_suffix),
            ("Project", config.project),
            ("ManagedBy", "aws-cdk"),
        ):
            Tags.of(self).add(key, value)
        # Every function, whoever creates it and whenever, gets a 30-day log group at synthesis.
        Aspects.of(self).add(FunctionLogGroups())

        self.network = Network(
            self,
            "Network",
            names=names,
            cidr=config.vpc_cidr,
            availability_zones=config.availability_zones,
            nat_gateways=config.nat_gateways,
        )
        self.registry = Registry(self, "Registry", names=names)
        self.database = Database(
            self,
            "Database",
            names=names,
            instance_class=config.db_instance_class,
            database_name=config.db_name,
            username=config.db_username,
            availability_zones=config.availability_zones,
            vpc=self.network.vpc,
            subnets=self.network.private_subnets,
            security_group=self.network.database_security_group,
        )

        edge_versions = EdgeVersions(pinned=config.edge_secret_version, accepted=config.edge_secret_versions)
        self.access_logs = AccessLogs(self, "AccessLogs")
        self.load_balancer = LoadBalancer(
            self,
            "LoadBalancer",
            names=names,
            edge_versions=edge_versions,
            certificate_arn=config.certificate_arn,
            live_colors={service: config.live_color(service) for service in BLUE_GREEN_SERVICES},
            vpc=self.network.vpc,
            subnets=self.network.public_subnets,
            security_group=self.network.alb_security_group,
            log_bucket=self.access_logs.bucket,
        )
        # With a certificate, CloudFront and API Gateway reach the ALB by the
        # domain the certificate covers; without one, by the ALB's DNS name.
        origin = self.load_balancer.origin(config.domain_name)
        origin_verify = self.load_balancer.origin_verify
        self.api = Api(
            self,
            "Api",
            names=names,
            origin=origin,
            origin_verify=origin_verify,
            origin_receivers=self.load_balancer.listener_rules,
            edge_versions=edge_versions,
            limits=ApiLimits(
                rate=config.api_throttle_rate,
                burst=config.api_throttle_burst,
                partner_quota_per_day=config.partner_quota_per_day,
                per_ip_limit_per_minute=config.per_ip_limit_per_minute,
            ),
        )
        self.cdn = Cdn(
            self,
            "Cdn",
            names=names,
            origin=origin,
            origin_verify_value=origin_verify.current,
            rest_api=self.api.api,
            web_api_key_value=self.api.web_key_value,
            edge_secret_receivers=[*self.load_balancer.listener_rules, self.api.firewall.web_acl, *self.api.web_plan_keys],
            log_bucket=self.access_logs.bucket,
            price_class=config.price_class,
            shield_region=config.region,
        )
        self.access_logs.emptied_after(self.cdn.distribution)
        self.media = Media(
            self,
            "Media",
            names=names,
            key_generations=config.media_key_generations,
            shield_region=config.region,
            log_bucket=self.access_logs.bucket,
            distribution=self.cdn.distribution,
            response_headers_policy=self.cdn.security_headers,
        )

        # Everything the API container is told: ECS injects the parameters at task start.
        self.parameters = Parameters(
            self,
            "Parameters",
            names=names,
            values={
                "DB_WRITER_HOST": self.database.writer_endpoint,
                "DB_READER_HOST": self.database.reader_endpoint,
                "DB_NAME": config.db_name,
                "DB_PORT": str(DATABASE_PORT),
                "LOG_LEVEL": config.log_level,
                "CACHE_MAX_AGE": str(config.cache_max_age_seconds),
                "CORS_ALLOWED_ORIGINS": ",".join([self.cdn.url, *config.cors_allowed_origins]),
                "MEDIA_BASE_URL": self.cdn.url,
            },
        )
        self.services = Services(
            self,
            "Services",
            names=names,
            container_insights=config.container_insights,
            image_tag=config.image_tag,
            scaling=Scaling(
                min_tasks=config.min_tasks,
                max_tasks=config.max_tasks,
                bake_time_minutes=config.bake_time_minutes,
                backend_request_scaling=config.backend_request_scaling,
                backend_requests_per_target=config.backend_requests_per_target,
            ),
            vpc=self.network.vpc,
            subnets=self.network.private_subnets,
            frontend=Placement(
                size=config.frontend,
                security_group=self.network.frontend_security_group,
                route=self.load_balancer.frontend,
                repository=self.registry.frontend,
            ),
            backend=Placement(
                size=config.backend,
                security_group=self.network.backend_security_group,
                route=self.load_balancer.backend,
                repository=self.registry.backend,
            ),
            # The app reads the DB secret itself (through the SDK, cached, re-read on an
            # authentication failure), so a rotation never needs a task restart.
            backend_environment={
                "DB_SECRET_ARN": self.database.credentials_secret.secret_arn,
                "DB_SSLMODE": "require",
                "AWS_REGION": self.region,
                "SEED_DEMO_DATA": "true" if config.seed_demo_data else "false",
                "PROXY_FIX_X_FOR": str(PROXY_HOPS),
                # The API signs media cookies with the current signing-key generation.
                "MEDIA_SIGNING_SECRET_ARN": self.media.signing_secret.secret_arn,
                "MEDIA_KEY_PAIR_ID": self.media.key_pair_id,
            },
            backend_parameters=self.parameters.by_env,
            backend_starts_after=self.database.instances,
        )
        # The API's task role: the DB credentials and the media signing keys. Nothing else.
        api_role = self.services.backend_task.task_role
        self.database.grant_credentials_read(api_role)
        self.media.allow_reads_only_by(api_role)

        self.observability = Observability(
            self,
            "Observability",
            names=names,
            watched=Monitored(
                load_balancer_full_name=self.load_balancer.alb.load_balancer_full_name,
                cluster_name=self.services.cluster.cluster_name,
                workloads=(
                    ServiceMetrics("frontend", self.services.frontend_service, self.load_balancer.frontend),
                    ServiceMetrics("backend", self.services.backend_service, self.load_balancer.backend),
                ),
                db_cluster_identifier=self.database.cluster_identifier,
                db_instance_identifiers=self.database.instance_identifiers,
                api_name=self.api.name,
                api_stage=self.api.stage_name,
                web_acl_name=self.api.firewall.name,
                distribution_id=self.cdn.distribution.distribution_id,
            ),
            thresholds=config.alarms,
            db_max_connections=config.db_max_connections,
            alarm_email=config.alarm_email,
        )

        self._outputs()

    def _outputs(self) -> None:
        """Exactly the outputs of lib/contract.py `Output`, each described there."""
        config = self.config
        values: dict[Output, str] = {
            Output.STACK_NAME: self.stack_name,
            Output.REGION: self.region,
            Output.ENVIRONMENT_SUFFIX: config.environment_suffix,
            Output.VPC_ID: self.network.vpc.vpc_id,
            Output.RDS_ENDPOINT: self.database.writer_endpoint,
            Output.RDS_READER_ENDPOINT: self.database.reader_endpoint,
            Output.RDS_PORT: str(DATABASE_PORT),
            Output.DB_CLUSTER_IDENTIFIER: self.database.cluster_identifier,
            Output.DB_SECRET_ARN: self.database.credentials_secret.secret_arn,
            Output.FRONTEND_REPOSITORY_URI: self.registry.frontend.repository_uri,
            Output.BACKEND_REPOSITORY_URI: self.registry.backend.repository_uri,
            Output.ALB_DNS_NAME: self.load_balancer.alb.load_balancer_dns_name,
            Output.ALB_URL: self.load_balancer.origin(None).url,
            Output.CLOUDFRONT_URL: self.cdn.url,
            Output.CLOUDFRONT_DOMAIN_NAME: self.cdn.distribution.distribution_domain_name,
            Output.CLOUDFRONT_DISTRIBUTION_ID: self.cdn.distribution.distribution_id,
            Output.API_GATEWAY_ENDPOINT: self.api.url,
            Output.API_GATEWAY_REST_API_ID: self.api.api.rest_api_id,
            Output.WEB_API_KEY_ID: self.api.web_key.key_id,
            Output.PARTNER_API_KEY_ID: self.api.partner_key.key_id,
            Output.EDGE_SECRET_VERSION: config.edge_secret_version or INITIAL_EDGE_VERSION,
            Output.EDGE_SECRET_PREVIOUS_VERSION: config.edge_secret_previous_version or NO_PREVIOUS_EDGE_VERSION,
            Output.WAF_WEB_ACL_ARN: self.api.firewall.web_acl.attr_arn,
            Output.ERROR_PAGES_BUCKET_NAME: self.cdn.error_pages_bucket.bucket_name,
            Output.MEDIA_BUCKET_NAME: self.media.bucket.bucket_name,
            Output.MEDIA_KEY_GROUP_ID: self.media.key_group.key_group_id,
            Output.DASHBOARD_NAME: self.observability.dashboard.dashboard_name,
            Output.ALARM_TOPIC_ARN: self.observability.topic.topic_arn,
            Output.ECS_CLUSTER_NAME: self.services.cluster.cluster_name,
            Output.FRONTEND_SERVICE_NAME: self.services.frontend_service.service_name,
            Output.BACKEND_SERVICE_NAME: self.services.backend_service.service_name,
        }
        for key in Output:  # a key of the contract without a value here fails synth (KeyError)
            CfnOutput(self, key.value, value=values[key], description=key.description)
        # Last, once every construct exists: a missing account setup fails the deploy before anything else is created.
        # Not the RestApi: API Gateway deployments hash its whole CloudFormation, DependsOn included, into their
        # logical id, so gating it would redeploy the API stage of every deployed environment once; it is created
        # and deleted in seconds, and its stage waits for the check.
        rest_api = self.api.api.node.default_child
        assert rest_api is not None
        self.api.logging_precondition.gate(self, exempt=[rest_api])
