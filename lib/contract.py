"""The platform's contract with its operators, scripts and tests: plain facts, no CDK.

Where the platform runs, how an environment's resources are named, which outputs
a deployed stack has, and which parameters the catalog API receives. `lib/` builds
from these, `scripts/` look resources up by them and the tests check against them;
nobody restates them. This module imports nothing from aws-cdk-lib, so a script
or a test can use it without loading the CDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# ------------------------------------------------------------------ where
REGION = "ap-southeast-1"
AVAILABILITY_ZONES = tuple(f"{REGION}{zone}" for zone in "abc")

# ------------------------------------------------------------------ names
# Every named resource is `<resource-type>-<suffix>`. The longest name the stack
# builds is a target-group name (32 characters at most in ELBv2): "tg-frontend-green-<suffix>".
LONGEST_NAME_PREFIX = "tg-frontend-green-"
NAME_LIMIT = 32
MAX_SUFFIX_LENGTH = NAME_LIMIT - len(LONGEST_NAME_PREFIX)
SUFFIX_PATTERN = re.compile(r"[a-z](?:[a-z0-9]|-(?!-))*")
SUFFIX_RULE = (
    "environmentSuffix must start with a lowercase letter, contain only lowercase "
    f"letters, digits and hyphens (never two in a row), not end with a hyphen, and be at most {MAX_SUFFIX_LENGTH} "
    f"characters long (the longest resource name, '{LONGEST_NAME_PREFIX}<suffix>', "
    f"must fit the {NAME_LIMIT}-character limit of load-balancer and target-group names)"
)


def suffix_is_valid(suffix: str) -> bool:
    """Whether `suffix` may name an environment (see SUFFIX_RULE)."""
    return bool(SUFFIX_PATTERN.fullmatch(suffix)) and not suffix.endswith("-") and len(suffix) <= MAX_SUFFIX_LENGTH


# The services deployed blue/green, and their two target-group colors (the template starts on blue).
BLUE_GREEN_SERVICES = ("frontend", "backend")
BLUE_GREEN_COLORS = ("blue", "green")

# Edge secrets: generated values that CloudFormation copies into the ALB rules,
# CloudFront, API Gateway and WAF. Secret name type -> generated length: letters and
# digits only, never `*` or `?` (ALB header conditions treat them as wildcards), at most
# 128 characters (ALB HttpHeaderConditionConfig), at least 20 for an API key (CreateApiKey).
ORIGIN_VERIFY_NAME = "origin-verify"
WEB_API_KEY_NAME = "api-key-web"
TEST_ROUTE_NAME = "blue-green-test"
EDGE_SECRET_LENGTHS = {ORIGIN_VERIFY_NAME: 48, WEB_API_KEY_NAME: 40, TEST_ROUTE_NAME: 48}


@dataclass(frozen=True)
class Names:
    """The names of one environment's resources: `<resource-type>-<suffix>`."""

    suffix: str

    def __call__(self, resource_type: str) -> str:
        return f"{resource_type}-{self.suffix}"

    @property
    def stack(self) -> str:
        return f"TapStack{self.suffix}"

    @property
    def parameter_prefix(self) -> str:
        """The SSM path under which the environment's parameters live."""
        return f"/tap/{self.suffix}"

    @property
    def cluster(self) -> str:
        return self("ecs-cluster")

    @property
    def load_balancer(self) -> str:
        return self("alb")

    def service(self, workload: str) -> str:
        return self(workload)

    def target_group(self, workload: str, color: str) -> str:
        return self(f"tg-{workload}-{color}")

    def edge_secret(self, kind: str) -> str:
        return self(kind)


# ------------------------------------------------------------------ edge-secret versions
# Every edge-secret reference is pinned to a Secrets Manager version id, chosen by the
# rotation procedure as the ClientRequestToken of PutSecretValue (32-64 characters).
# Restricted to lowercase letters, digits and hyphens (a UUID fits) because it also
# becomes part of a logical id and of the web API key's name.
EDGE_SECRET_VERSION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{30,62}[a-z0-9]$")
# The version CloudFormation generated when it created the secrets: its id is not
# known at synth, so references to it carry no version (AWSCURRENT).
INITIAL_EDGE_VERSION = "initial"
# What the stack reports as the previous edge-secret version outside a switch.
NO_PREVIOUS_EDGE_VERSION = "none"
EDGE_VERSION_RULE = (
    "a Secrets Manager version id of 32-64 lowercase letters, digits and hyphens (e.g. a UUID, as "
    "`scripts/edge_secrets.py stage` creates), not starting or ending with a hyphen"
)

# Headers that carry edge secrets. The ALB serves only requests with the origin-verify
# value; a request that also carries the test-route token in TEST_TRAFFIC_HEADER reaches
# the green target group during a blue/green deployment. CloudFront and API Gateway
# overwrite TEST_TRAFFIC_HEADER with EDGE_TEST_TRAFFIC_VALUE, so no viewer request
# through the edge carries a value of its choosing.
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
TEST_TRAFFIC_HEADER = "X-Blue-Green-Test"
EDGE_TEST_TRAFFIC_VALUE = "none"
# The API key header API Gateway checks, and the header the CloudFront Function sets
# from the viewer's address (clients cannot forge it; the WAF limits per its value).
API_KEY_HEADER = "x-api-key"
VIEWER_IP_HEADER = "x-viewer-ip"


# ------------------------------------------------------------------ outputs
class Output(StrEnum):
    """The stack's outputs: exactly these keys are in `cfn-outputs/flat-outputs.json`."""

    STACK_NAME = "StackName"
    REGION = "Region"
    ENVIRONMENT_SUFFIX = "EnvironmentSuffix"
    VPC_ID = "VpcId"
    RDS_ENDPOINT = "RdsEndpoint"
    RDS_READER_ENDPOINT = "RdsReaderEndpoint"
    RDS_PORT = "RdsPort"
    DB_CLUSTER_IDENTIFIER = "DbClusterIdentifier"
    DB_SECRET_ARN = "DbSecretArn"  # noqa: S105 - an output key
    FRONTEND_REPOSITORY_URI = "FrontendRepositoryUri"
    BACKEND_REPOSITORY_URI = "BackendRepositoryUri"
    ALB_DNS_NAME = "AlbDnsName"
    ALB_URL = "AlbUrl"
    CLOUDFRONT_URL = "CloudFrontURL"
    CLOUDFRONT_DOMAIN_NAME = "CloudFrontDomainName"
    CLOUDFRONT_DISTRIBUTION_ID = "CloudFrontDistributionId"
    API_GATEWAY_ENDPOINT = "ApiGatewayEndpoint"
    API_GATEWAY_REST_API_ID = "ApiGatewayRestApiId"
    WEB_API_KEY_ID = "WebApiKeyId"
    PARTNER_API_KEY_ID = "PartnerApiKeyId"
    EDGE_SECRET_VERSION = "EdgeSecretVersion"  # noqa: S105 - an output key
    EDGE_SECRET_PREVIOUS_VERSION = "EdgeSecretPreviousVersion"  # noqa: S105 - an output key
    WAF_WEB_ACL_ARN = "WafWebAclArn"
    ERROR_PAGES_BUCKET_NAME = "ErrorPagesBucketName"
    MEDIA_BUCKET_NAME = "MediaBucketName"
    MEDIA_KEY_GROUP_ID = "MediaKeyGroupId"
    DASHBOARD_NAME = "DashboardName"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
    ECS_CLUSTER_NAME = "EcsClusterName"
    FRONTEND_SERVICE_NAME = "FrontendServiceName"
    BACKEND_SERVICE_NAME = "BackendServiceName"


OUTPUT_DESCRIPTIONS: dict[Output, str] = {
    Output.STACK_NAME: "Stack name",
    Output.REGION: "Region",
    Output.ENVIRONMENT_SUFFIX: "Environment suffix",
    Output.VPC_ID: "VPC id",
    Output.RDS_ENDPOINT: "Aurora writer endpoint",
    Output.RDS_READER_ENDPOINT: "Aurora reader endpoint",
    Output.RDS_PORT: "Aurora port",
    Output.DB_CLUSTER_IDENTIFIER: "Aurora cluster identifier",
    Output.DB_SECRET_ARN: "Secret with the rotated DB credentials",
    Output.FRONTEND_REPOSITORY_URI: "ECR repository of the web app",
    Output.BACKEND_REPOSITORY_URI: "ECR repository of the catalog API",
    Output.ALB_DNS_NAME: "ALB DNS name (answers 403 without the origin header)",
    Output.ALB_URL: "ALB URL",
    Output.CLOUDFRONT_URL: "The platform's public URL",
    Output.CLOUDFRONT_DOMAIN_NAME: "CloudFront domain",
    Output.CLOUDFRONT_DISTRIBUTION_ID: "CloudFront distribution id",
    Output.API_GATEWAY_ENDPOINT: "API Gateway stage URL (x-api-key required)",
    Output.API_GATEWAY_REST_API_ID: "API Gateway REST API id",
    Output.WEB_API_KEY_ID: "API key CloudFront sends for the web app",
    Output.PARTNER_API_KEY_ID: "API key of the partner usage plan",
    Output.EDGE_SECRET_VERSION: "Edge-secret version every consumer uses (scripts/edge_secrets.py reads it)",
    Output.EDGE_SECRET_PREVIOUS_VERSION: "Edge-secret version still accepted during a switch",
    Output.WAF_WEB_ACL_ARN: "WAF web ACL on the API stage",
    Output.ERROR_PAGES_BUCKET_NAME: "Bucket of the custom error pages",
    Output.MEDIA_BUCKET_NAME: "Private bucket of the HLS media (read by CloudFront only)",
    Output.MEDIA_KEY_GROUP_ID: "CloudFront key group whose signatures grant /media/*",
    Output.DASHBOARD_NAME: "CloudWatch dashboard",
    Output.ALARM_TOPIC_ARN: "SNS topic of the alarms",
    Output.ECS_CLUSTER_NAME: "ECS cluster",
    Output.FRONTEND_SERVICE_NAME: "Web app service",
    Output.BACKEND_SERVICE_NAME: "Catalog API service",
}


# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class Parameter:
    """A String parameter under `/tap/<suffix>/` that the catalog API receives as environment variable `env`."""

    env: str
    path: str
    description: str


API_PARAMETERS = (
    Parameter("DB_WRITER_HOST", "db/writer-endpoint", "Aurora writer endpoint"),
    Parameter("DB_READER_HOST", "db/reader-endpoint", "Aurora reader endpoint"),
    Parameter("DB_NAME", "db/name", "Catalog database name"),
    Parameter("DB_PORT", "db/port", "Aurora port"),
    Parameter("LOG_LEVEL", "app/log-level", "Backend log level"),
    Parameter("CACHE_MAX_AGE", "app/cache-max-age", "Cache-Control max-age of catalog GETs"),
    Parameter(
        "CORS_ALLOWED_ORIGINS",
        "app/cors-allowed-origins",
        "Origins allowed to call the API from a browser: the CloudFront URL plus the configured list",
    ),
    Parameter("MEDIA_BASE_URL", "app/media-base-url", "URL whose /media/<id>/* the API's signed cookies cover"),
)
