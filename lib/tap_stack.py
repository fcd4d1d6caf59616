"""TapStack: composes the platform's constructs, wires them together, and exports outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from lib.access_logs import AccessLogs
from lib.api import Api
from lib.cdn import Cdn
from lib.config import INITIAL_EDGE_VERSION, NO_PREVIOUS_EDGE_VERSION, PlatformConfig
from lib.database import Database
from lib.load_balancer import LoadBalancer
from lib.network import DATABASE_PORT, Network
from lib.observability import Observability, give_functions_log_groups
from lib.parameters import Parameters
from lib.registry import Registry
from lib.services import Services


class TapStack(Stack):
    """The media-streaming platform for one environment (`TapStack<suffix>`)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        for key, value in (
            ("Environment", config.environment_suffix),
            ("Project", config.project),
            ("ManagedBy", "aws-cdk"),
        ):
            Tags.of(self).add(key, value)

        self.network = Network(self, "Network", config=config)
        self.registry = Registry(self, "Registry", config=config)
        self.database = Database(self, "Database", config=config, network=self.network)

        self.parameters = Parameters(self, "Parameters", config=config)
        put = self.parameters.put
        put("DB_WRITER_HOST", "db/writer-endpoint", self.database.writer_endpoint, "Aurora writer endpoint")
        put("DB_READER_HOST", "db/reader-endpoint", self.database.reader_endpoint, "Aurora reader endpoint")
        put("DB_NAME", "db/name", config.db_name, "Catalog database name")
        put("DB_PORT", "db/port", str(DATABASE_PORT), "Aurora port")
        put("LOG_LEVEL", "app/log-level", config.log_level, "Backend log level")
        put("CACHE_MAX_AGE", "app/cache-max-age", str(config.cache_max_age_seconds), "Cache-Control max-age of catalog GETs")

        self.access_logs = AccessLogs(self, "AccessLogs", config=config)
        self.load_balancer = LoadBalancer(self, "LoadBalancer", config=config, network=self.network, access_logs=self.access_logs)
        # With a certificate, CloudFront and API Gateway reach the ALB by the
        # domain the certificate covers; without one, by the ALB's DNS name.
        origin_host = config.domain_name or self.load_balancer.alb.load_balancer_dns_name
        self.api = Api(self, "Api", config=config, load_balancer=self.load_balancer, origin_host=origin_host)
        self.cdn = Cdn(
            self,
            "Cdn",
            config=config,
            load_balancer=self.load_balancer,
            api=self.api,
            origin_host=origin_host,
            access_logs=self.access_logs,
        )
        put(
            "CORS_ALLOWED_ORIGINS",
            "app/cors-allowed-origins",
            ",".join([self.cdn.url, *config.cors_allowed_origins]),
            "Origins allowed to call the API from a browser: the CloudFront URL plus the configured list",
        )

        self.services = Services(
            self,
            "Services",
            config=config,
            network=self.network,
            registry=self.registry,
            database=self.database,
            parameters=self.parameters,
            load_balancer=self.load_balancer,
        )

        self.observability = Observability(
            self,
            "Observability",
            config=config,
            load_balancer=self.load_balancer,
            services=self.services,
            database=self.database,
            api=self.api,
            cdn=self.cdn,
        )
        # Last, so it sees every function the constructs above created.
        give_functions_log_groups(self)

        self._outputs()

    def _outputs(self) -> None:
        values = {
            "StackName": (self.stack_name, "Stack name"),
            "Region": (self.region, "Region"),
            "EnvironmentSuffix": (self.config.environment_suffix, "Environment suffix"),
            "VpcId": (self.network.vpc.vpc_id, "VPC id"),
            "RdsEndpoint": (self.database.writer_endpoint, "Aurora writer endpoint"),
            "RdsReaderEndpoint": (self.database.reader_endpoint, "Aurora reader endpoint"),
            "RdsPort": (str(DATABASE_PORT), "Aurora port"),
            "DbClusterIdentifier": (self.database.cluster_identifier, "Aurora cluster identifier"),
            "DbSecretArn": (self.database.credentials_secret.secret_arn, "Secret with the rotated DB credentials"),
            "FrontendRepositoryUri": (self.registry.frontend.repository_uri, "ECR repository of the web app"),
            "BackendRepositoryUri": (self.registry.backend.repository_uri, "ECR repository of the catalog API"),
            "AlbDnsName": (self.load_balancer.alb.load_balancer_dns_name, "ALB DNS name (answers 403 without the origin header)"),
            "AlbUrl": (self.load_balancer.url, "ALB URL"),
            "CloudFrontURL": (self.cdn.url, "The platform's public URL"),
            "CloudFrontDomainName": (self.cdn.distribution.distribution_domain_name, "CloudFront domain"),
            "CloudFrontDistributionId": (self.cdn.distribution.distribution_id, "CloudFront distribution id"),
            "ApiGatewayEndpoint": (self.api.url, "API Gateway stage URL (x-api-key required)"),
            "ApiGatewayRestApiId": (self.api.api.rest_api_id, "API Gateway REST API id"),
            "WebApiKeyId": (self.api.web_key.key_id, "API key CloudFront sends for the web app"),
            "PartnerApiKeyId": (self.api.partner_key.key_id, "API key of the partner usage plan"),
            "EdgeSecretVersion": (
                self.config.edge_secret_version or INITIAL_EDGE_VERSION,
                "Edge-secret version every consumer uses (scripts/edge_secrets.py reads it)",
            ),
            "EdgeSecretPreviousVersion": (
                self.config.edge_secret_previous_version or NO_PREVIOUS_EDGE_VERSION,
                "Edge-secret version still accepted during a switch",
            ),
            "WafWebAclArn": (self.api.web_acl.attr_arn, "WAF web ACL on the API stage"),
            "ErrorPagesBucketName": (self.cdn.error_pages_bucket.bucket_name, "Bucket of the custom error pages"),
            "DashboardName": (self.observability.dashboard.dashboard_name, "CloudWatch dashboard"),
            "AlarmTopicArn": (self.observability.topic.topic_arn, "SNS topic of the alarms"),
            "EcsClusterName": (self.services.cluster.cluster_name, "ECS cluster"),
            "FrontendServiceName": (self.services.frontend_service.service_name, "Web app service"),
            "BackendServiceName": (self.services.backend_service.service_name, "Catalog API service"),
        }
        for key, (value, description) in values.items():
            CfnOutput(self, key, value=value, description=description)
