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
    """The stack's outputs: exactly these keys, each with its description, are in `cfn-outputs/flat-outputs.json`."""

    description: str

    def __new__(cls, key: str, description: str) -> Output:
        member = str.__new__(cls, key)
        member._value_ = key
        member.description = description
        return member

    STACK_NAME = ("StackName", "Stack name")
    REGION = ("Region", "Region")
    ENVIRONMENT_SUFFIX = ("EnvironmentSuffix", "Environment suffix")
    VPC_ID = ("VpcId", "VPC id")
    RDS_ENDPOINT = ("RdsEndpoint", "Aurora writer endpoint")
    RDS_READER_ENDPOINT = ("RdsReaderEndpoint", "Aurora reader endpoint")
    RDS_PORT = ("RdsPort", "Aurora port")
    DB_CLUSTER_IDENTIFIER = ("DbClusterIdentifier", "Aurora cluster identifier")
    DB_SECRET_ARN = ("DbSecretArn", "Secret with the rotated DB credentials")
    FRONTEND_REPOSITORY_URI = ("FrontendRepositoryUri", "ECR repository of the web app")
    BACKEND_REPOSITORY_URI = ("BackendRepositoryUri", "ECR repository of the catalog API")
    ALB_DNS_NAME = ("AlbDnsName", "ALB DNS name (answers 403 without the origin header)")
    ALB_URL = ("AlbUrl", "ALB URL")
    CLOUDFRONT_URL = ("CloudFrontURL", "The platform's public URL")
    CLOUDFRONT_DOMAIN_NAME = ("CloudFrontDomainName", "CloudFront domain")
    CLOUDFRONT_DISTRIBUTION_ID = ("CloudFrontDistributionId", "CloudFront distribution id")
    API_GATEWAY_ENDPOINT = ("ApiGatewayEndpoint", "API Gateway stage URL (x-api-key required)")
    API_GATEWAY_REST_API_ID = ("ApiGatewayRestApiId", "API Gateway REST API id")
    WEB_API_KEY_ID = ("WebApiKeyId", "API key CloudFront sends for the web app")
    PARTNER_API_KEY_ID = ("PartnerApiKeyId", "API key of the partner usage plan")
    EDGE_SECRET_VERSION = ("EdgeSecretVersion", "Edge-secret version every consumer uses (scripts/edge_secrets.py reads it)")
    EDGE_SECRET_PREVIOUS_VERSION = ("EdgeSecretPreviousVersion", "Edge-secret version still accepted during a switch")
    WAF_WEB_ACL_ARN = ("WafWebAclArn", "WAF web ACL on the API stage")
    ERROR_PAGES_BUCKET_NAME = ("ErrorPagesBucketName", "Bucket of the custom error pages")
    MEDIA_BUCKET_NAME = ("MediaBucketName", "Private bucket of the HLS media (read by CloudFront only)")
    MEDIA_KEY_GROUP_ID = ("MediaKeyGroupId", "CloudFront key group whose signatures grant /media/*")
    DASHBOARD_NAME = ("DashboardName", "CloudWatch dashboard")
    ALARM_TOPIC_ARN = ("AlarmTopicArn", "SNS topic of the alarms")
    ECS_CLUSTER_NAME = ("EcsClusterName", "ECS cluster")
    FRONTEND_SERVICE_NAME = ("FrontendServiceName", "Web app service")
    BACKEND_SERVICE_NAME = ("BackendServiceName", "Catalog API service")


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
