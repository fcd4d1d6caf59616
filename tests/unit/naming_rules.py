"""Each AWS service's documented constraints on the names it accepts, per CloudFormation property.

Neither cfn-lint nor checkov checks most of these: a template that breaks one
synthesizes, lints clean, and fails at deploy time. Every rule names the API
reference it comes from. `NAME_RULES` maps a resource type to its physically
named properties; a property path uses `[]` for "every element of this list".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# A property whose key ends like this carries a name. Every such property in a
# template must have a rule below or be listed in NOT_NAMES with the reason.
NAME_KEY = re.compile(r"(Name|Identifier|Family)$")


@dataclass(frozen=True)
class Rule:
    """Constraints on one kind of name; `source` cites the API reference that states them."""

    source: str
    max_length: int
    min_length: int = 1
    # Every character must match this class.
    charset: str = r"[\x20-\x7e]"
    # The whole name must also match this (first character, structure).
    pattern: str | None = None
    forbidden_prefixes: tuple[str, ...] = ()
    forbidden_suffixes: tuple[str, ...] = ()
    # Regexes the name must not fully match (reserved forms).
    forbidden_patterns: tuple[str, ...] = ()
    required_prefix: str | None = None
    no_leading_hyphen: bool = False
    no_trailing_hyphen: bool = False
    no_double_hyphen: bool = False
    case_insensitive_prefixes: bool = True
    max_levels: int | None = None  # slash-separated hierarchy depth
    notes: tuple[str, ...] = field(default=())

    def violations(self, name: str) -> list[str]:
        found = []
        if not self.min_length <= len(name) <= self.max_length:
            found.append(f"length {len(name)} outside {self.min_length}-{self.max_length}")
        bad = sorted({c for c in name if not re.fullmatch(self.charset, c)})
        if bad:
            found.append(f"characters {bad!r} outside {self.charset}")
        if self.pattern and not re.fullmatch(self.pattern, name):
            found.append(f"does not match {self.pattern}")
        folded = name.lower() if self.case_insensitive_prefixes else name
        for prefix in self.forbidden_prefixes:
            if folded.startswith(prefix.lower() if self.case_insensitive_prefixes else prefix):
                found.append(f"starts with the reserved prefix {prefix!r}")
        for suffix in self.forbidden_suffixes:
            if name.endswith(suffix):
                found.append(f"ends with the reserved suffix {suffix!r}")
        for reserved in self.forbidden_patterns:
            if re.fullmatch(reserved, name):
                found.append(f"matches the reserved form {reserved}")
        if self.required_prefix and not name.startswith(self.required_prefix):
            found.append(f"does not start with {self.required_prefix!r}")
        if self.no_leading_hyphen and name.startswith("-"):
            found.append("starts with a hyphen")
        if self.no_trailing_hyphen and name.endswith("-"):
            found.append("ends with a hyphen")
        if self.no_double_hyphen and "--" in name:
            found.append("contains two consecutive hyphens")
        if self.max_levels is not None and name.count("/") > self.max_levels:
            found.append(f"more than {self.max_levels} hierarchy levels")
        return found


# ------------------------------------------------------------------ rules

EC2_TEXT = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]"
# EC2 API Reference, CreateSecurityGroup, GroupName: "Up to 255 characters in length. Can't start
# with sg-. Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
SECURITY_GROUP_NAME = Rule("EC2 CreateSecurityGroup GroupName", 255, charset=EC2_TEXT, forbidden_prefixes=("sg-",))
# Same page, GroupDescription: "Up to 255 characters in length. Valid characters: a-z, A-Z, 0-9,
# spaces, and ._-:/()#,@[]+=&;{}!$*"
SECURITY_GROUP_DESCRIPTION = Rule("EC2 CreateSecurityGroup GroupDescription", 255, charset=EC2_TEXT)
# EC2 API Reference, IpRange / UserIdGroupPair Description (AuthorizeSecurityGroupIngress/Egress):
# "Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html
SECURITY_GROUP_RULE_DESCRIPTION = Rule("EC2 IpRange Description", 255, min_length=0, charset=EC2_TEXT)

ELB_NAME = r"[A-Za-z0-9-]"
# ELBv2 API Reference, CreateLoadBalancer, Name: "maximum of 32 characters, must contain only
# alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with internal-"
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
LOAD_BALANCER_NAME = Rule(
    "ELBv2 CreateLoadBalancer Name",
    32,
    charset=ELB_NAME,
    forbidden_prefixes=("internal-",),
    no_leading_hyphen=True,
    no_trailing_hyphen=True,
)
# ELBv2 API Reference, CreateTargetGroup, Name: "maximum of 32 characters, must contain only
# alphanumeric characters or hyphens, and must not begin or end with a hyphen"
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
TARGET_GROUP_NAME = Rule("ELBv2 CreateTargetGroup Name", 32, charset=ELB_NAME, no_leading_hyphen=True, no_trailing_hyphen=True)

# ECR API Reference, CreateRepository, repositoryName: length 2-256, pattern
# [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*; "must start with a letter"
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
ECR_REPOSITORY_NAME = Rule(
    "ECR CreateRepository repositoryName",
    256,
    min_length=2,
    charset=r"[a-z0-9._/-]",
    pattern=r"[a-z][a-z0-9]*((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*",
)

# Amazon S3 User Guide, "General purpose bucket naming rules": 3-63 characters; lowercase letters,
# numbers, periods and hyphens; begin and end with a letter or number; no two adjacent periods; not an
# IP address; reserved prefixes xn--, sthree-, amzn-s3-demo-; reserved suffixes -s3alias, --ol-s3,
# .mrap, --x-s3, --table-s3.  https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
S3_BUCKET_NAME = Rule(
    "S3 bucket naming rules",
    63,
    min_length=3,
    charset=r"[a-z0-9.-]",
    pattern=r"[a-z0-9](?!.*\.\.).*[a-z0-9]",
    forbidden_prefixes=("xn--", "sthree-", "amzn-s3-demo-"),
    forbidden_suffixes=("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"),
    forbidden_patterns=(r"\d+\.\d+\.\d+\.\d+",),
)

# CloudWatch Logs API Reference, CreateLogGroup, logGroupName: length 1-512, pattern [\.\-_/#A-Za-z0-9]+
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
LOG_GROUP_NAME = Rule("CloudWatch Logs CreateLogGroup logGroupName", 512, charset=r"[.\-_/#A-Za-z0-9]")

# Secrets Manager API Reference, CreateSecret, Name: length 1-512; "ASCII letters, numbers, and the
# following characters: /_+=.@-"; "Do not end your secret name with a hyphen followed by six characters"
# https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
SECRET_NAME = Rule(
    "Secrets Manager CreateSecret Name",
    512,
    charset=r"[A-Za-z0-9/_+=.@-]",
    forbidden_patterns=(r".*-[^-]{6}",),
)

IAM_NAME = r"[\w+=,.@-]"
# IAM API Reference, CreateRole, RoleName: length 1-64, pattern [\w+=,.@-]+
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
IAM_ROLE_NAME = Rule("IAM CreateRole RoleName", 64, charset=IAM_NAME)
# IAM API Reference, PutRolePolicy / CreatePolicy, PolicyName: length 1-128, pattern [\w+=,.@-]+
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html
IAM_POLICY_NAME = Rule("IAM PutRolePolicy PolicyName", 128, charset=IAM_NAME)

# Lambda API Reference, CreateFunction, FunctionName: "If you specify only the function name, it is
# limited to 64 characters in length"; name part [a-zA-Z0-9-_]+
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
LAMBDA_FUNCTION_NAME = Rule("Lambda CreateFunction FunctionName", 64, charset=r"[a-zA-Z0-9_-]")

WAF_NAME = r"[\w-]"
# WAFV2 API Reference, CreateWebACL, Name: length 1-128, pattern ^[\w\-]+$
# https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html
WAF_WEB_ACL_NAME = Rule("WAFV2 CreateWebACL Name", 128, charset=WAF_NAME)
# WAFV2 API Reference, Rule, Name: length 1-128, pattern ^[\w\-]+$
# https://docs.aws.amazon.com/waf/latest/APIReference/API_Rule.html
WAF_RULE_NAME = Rule("WAFV2 Rule Name", 128, charset=WAF_NAME)
# WAFV2 API Reference, VisibilityConfig, MetricName: "can contain only the characters: A-Z, a-z, 0-9,
# - (hyphen), and _ (underscore). The name can be from one to 128 characters long. It can't contain
# whitespace or metric names that are reserved for WAF, for example All and Default_Action."
# https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html
WAF_METRIC_NAME = Rule(
    "WAFV2 VisibilityConfig MetricName", 128, charset=r"[A-Za-z0-9_-]", forbidden_patterns=("All", "Default_Action")
)

CLOUDFRONT_POLICY = r"[A-Za-z0-9_-]"
# CloudFront API Reference, CreateFunction, Name: length 1-64, pattern [a-zA-Z0-9-_]{1,64}
# https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateFunction.html
CLOUDFRONT_FUNCTION_NAME = Rule("CloudFront CreateFunction Name", 64, charset=r"[a-zA-Z0-9_-]")
# CloudFront API Reference, OriginAccessControlConfig, Name: "You can specify up to 64 characters."
# https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_OriginAccessControlConfig.html
CLOUDFRONT_OAC_NAME = Rule("CloudFront OriginAccessControlConfig Name", 64)
# CloudFront API Reference, CachePolicyConfig / ResponseHeadersPolicyConfig / KeyGroupConfig / PublicKeyConfig, Name:
# no limit documented in the API reference; CloudFront's policy-name quota is 128 characters of
# letters, digits, hyphens and underscores ("Quotas on policies", CloudFront Developer Guide), which
# aws-cdk-lib's CachePolicy and ResponseHeadersPolicy also enforce at synth.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
CLOUDFRONT_POLICY_NAME = Rule("CloudFront CachePolicyConfig/ResponseHeadersPolicyConfig Name", 128, charset=CLOUDFRONT_POLICY)

# SNS API Reference, CreateTopic, Name: "only uppercase and lowercase ASCII letters, numbers, underscores,
# and hyphens, and must be between 1 and 256 characters long"
# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
SNS_TOPIC_NAME = Rule("SNS CreateTopic Name", 256, charset=r"[A-Za-z0-9_-]")
# Same page, attribute DisplayName: "must be maximum 100 characters long"
SNS_DISPLAY_NAME = Rule("SNS CreateTopic DisplayName", 100)

ECS_NAME = r"[A-Za-z0-9_-]"
# ECS API Reference, CreateCluster clusterName / CreateService serviceName / RegisterTaskDefinition
# family / ContainerDefinition name / Volume name: "Up to 255 letters (uppercase and lowercase),
# numbers, underscores, and hyphens are allowed."
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html
ECS_RESOURCE_NAME = Rule("ECS CreateCluster/CreateService/RegisterTaskDefinition names", 255, charset=ECS_NAME)
# ECS API Reference, PortMapping, name: "up to 64 characters ... lowercase letters, numbers,
# underscores (_), and hyphens (-). The name can't start with a hyphen."
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html
ECS_PORT_MAPPING_NAME = Rule("ECS PortMapping name", 64, charset=r"[a-z0-9_-]", no_leading_hyphen=True)

# RDS API Reference, CreateDBCluster DBClusterIdentifier / CreateDBInstance DBInstanceIdentifier:
# "1 to 63 letters, numbers, or hyphens. First character must be a letter. Can't end with a hyphen or
# contain two consecutive hyphens."  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html
RDS_IDENTIFIER = Rule(
    "RDS CreateDBCluster/CreateDBInstance identifier",
    63,
    charset=r"[A-Za-z0-9-]",
    pattern=r"[A-Za-z].*",
    no_trailing_hyphen=True,
    no_double_hyphen=True,
)
# RDS API Reference, CreateDBSubnetGroup, DBSubnetGroupName: "no more than 255 letters, numbers,
# periods, underscores, spaces, or hyphens. Must not be default. First character must be a letter."
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html
RDS_SUBNET_GROUP_NAME = Rule(
    "RDS CreateDBSubnetGroup DBSubnetGroupName",
    255,
    charset=r"[A-Za-z0-9._ -]",
    pattern=r"[A-Za-z].*",
    forbidden_patterns=("(?i)default",),
)
# RDS API Reference, CreateDBClusterParameterGroup, DBClusterParameterGroupName (RDS User Guide,
# "Working with parameter groups": 1-255 letters, digits, hyphens; first a letter; no trailing hyphen
# or two consecutive hyphens).  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBClusterParameterGroup.html
RDS_PARAMETER_GROUP_NAME = Rule(
    "RDS CreateDBClusterParameterGroup DBClusterParameterGroupName",
    255,
    charset=r"[A-Za-z0-9-]",
    pattern=r"[A-Za-z].*",
    no_trailing_hyphen=True,
    no_double_hyphen=True,
)
# Aurora User Guide, "Naming constraints in Amazon Aurora", Aurora PostgreSQL database name:
# "1-63 alphanumeric characters ... must begin with a letter or an underscore. Subsequent characters
# can be letters, underscores, or digits. Can't be a word reserved by the database engine."
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/CHAP_Limits.html#RDS_Limits.Constraints
AURORA_POSTGRES_DATABASE_NAME = Rule(
    "Aurora naming constraints: PostgreSQL database name",
    63,
    charset=r"[A-Za-z0-9_]",
    pattern=r"[A-Za-z_].*",
    forbidden_patterns=("(?i)postgres", "(?i)template0", "(?i)template1", "(?i)rdsadmin"),
)

# SSM API Reference, PutParameter, Name: symbols and letters a-zA-Z0-9_.- plus '/' for hierarchies;
# "can't be prefixed with aws or ssm (case-insensitive)"; "hierarchies are limited to a maximum depth
# of fifteen levels"; at most 1011 characters including the ARN before the name.
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
SSM_PARAMETER_ARN_PREFIX = "arn:aws-us-gov:ssm:ap-southeast-1:123456789012:parameter"
SSM_PARAMETER_NAME = Rule(
    "SSM PutParameter Name",
    1011 - len(SSM_PARAMETER_ARN_PREFIX),
    charset=r"[a-zA-Z0-9_./-]",
    pattern=r"(/[^/]+)+|[^/]+",
    forbidden_prefixes=("aws", "ssm", "/aws", "/ssm"),
    max_levels=15,
)

# CloudWatch API Reference, PutMetricAlarm, AlarmName: length 1-255, "only UTF-8 characters, and can't
# contain ASCII control characters"  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
ALARM_NAME = Rule("CloudWatch PutMetricAlarm AlarmName", 255, charset=r"[^\x00-\x1f\x7f]")
# CloudWatch API Reference, PutDashboard, DashboardName: "The maximum length is 255, and valid
# characters are A-Z, a-z, 0-9, "-", and "_"."  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
DASHBOARD_NAME = Rule("CloudWatch PutDashboard DashboardName", 255, charset=r"[A-Za-z0-9_-]")

# API Gateway API Reference, CreateStage, stageName: "Stage names can only contain alphanumeric
# characters, hyphens, and underscores. Maximum length is 128 characters."
# https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html
API_STAGE_NAME = Rule("API Gateway CreateStage stageName", 128, charset=r"[A-Za-z0-9_-]")
# API Gateway Developer Guide, "Usage plans and API keys": "The name cannot exceed 1024 characters."
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
API_KEY_NAME = Rule("API Gateway API key name", 1024)
# API Gateway API Reference, CreateRestApi name / CreateUsagePlan name: required, no documented
# limit; held to the API key limit and printable ASCII so a change that needs more is reviewed.
# https://docs.aws.amazon.com/apigateway/latest/api/API_CreateRestApi.html
API_NAME = Rule("API Gateway CreateRestApi/CreateUsagePlan name", 1024)

# Application Auto Scaling API Reference, PutScalingPolicy, PolicyName: length 1-256, pattern \p{Print}+
# https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html
SCALING_POLICY_NAME = Rule("Application Auto Scaling PutScalingPolicy PolicyName", 256)

# KMS API Reference, CreateAlias, AliasName: length 1-256, pattern ^[a-zA-Z0-9:/_-]+$, "must begin
# with alias/"; "The alias name cannot begin with alias/aws/. The alias/aws/ prefix is reserved for
# AWS managed keys."  https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
KMS_ALIAS_NAME = Rule(
    "KMS CreateAlias AliasName",
    256,
    charset=r"[a-zA-Z0-9:/_-]",
    required_prefix="alias/",
    forbidden_prefixes=("alias/aws/",),
)

NAME_RULES: dict[str, dict[str, Rule]] = {
    "AWS::EC2::SecurityGroup": {"GroupName": SECURITY_GROUP_NAME, "GroupDescription": SECURITY_GROUP_DESCRIPTION},
    "AWS::EC2::SecurityGroupIngress": {"Description": SECURITY_GROUP_RULE_DESCRIPTION},
    "AWS::EC2::SecurityGroupEgress": {"Description": SECURITY_GROUP_RULE_DESCRIPTION},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {"Name": LOAD_BALANCER_NAME},
    "AWS::ElasticLoadBalancingV2::TargetGroup": {"Name": TARGET_GROUP_NAME},
    "AWS::ECR::Repository": {"RepositoryName": ECR_REPOSITORY_NAME},
    "AWS::S3::Bucket": {"BucketName": S3_BUCKET_NAME},
    "AWS::Logs::LogGroup": {"LogGroupName": LOG_GROUP_NAME},
    "AWS::SecretsManager::Secret": {"Name": SECRET_NAME},
    "AWS::SecretsManager::RotationSchedule": {"HostedRotationLambda.RotationLambdaName": LAMBDA_FUNCTION_NAME},
    "AWS::IAM::Role": {"RoleName": IAM_ROLE_NAME, "Policies[].PolicyName": IAM_POLICY_NAME},
    "AWS::IAM::Policy": {"PolicyName": IAM_POLICY_NAME},
    "AWS::IAM::ManagedPolicy": {"ManagedPolicyName": IAM_POLICY_NAME},
    "AWS::Lambda::Function": {"FunctionName": LAMBDA_FUNCTION_NAME},
    "AWS::WAFv2::WebACL": {
        "Name": WAF_WEB_ACL_NAME,
        "VisibilityConfig.MetricName": WAF_METRIC_NAME,
        "Rules[].Name": WAF_RULE_NAME,
        "Rules[].VisibilityConfig.MetricName": WAF_METRIC_NAME,
    },
    "AWS::CloudFront::Function": {"Name": CLOUDFRONT_FUNCTION_NAME},
    "AWS::CloudFront::CachePolicy": {"CachePolicyConfig.Name": CLOUDFRONT_POLICY_NAME},
    "AWS::CloudFront::ResponseHeadersPolicy": {"ResponseHeadersPolicyConfig.Name": CLOUDFRONT_POLICY_NAME},
    "AWS::CloudFront::OriginRequestPolicy": {"OriginRequestPolicyConfig.Name": CLOUDFRONT_POLICY_NAME},
    "AWS::CloudFront::KeyGroup": {"KeyGroupConfig.Name": CLOUDFRONT_POLICY_NAME},
    "AWS::CloudFront::PublicKey": {"PublicKeyConfig.Name": CLOUDFRONT_POLICY_NAME},
    "AWS::CloudFront::OriginAccessControl": {"OriginAccessControlConfig.Name": CLOUDFRONT_OAC_NAME},
    "AWS::SNS::Topic": {"TopicName": SNS_TOPIC_NAME, "DisplayName": SNS_DISPLAY_NAME},
    "AWS::ECS::Cluster": {"ClusterName": ECS_RESOURCE_NAME},
    "AWS::ECS::Service": {"ServiceName": ECS_RESOURCE_NAME, "LoadBalancers[].ContainerName": ECS_RESOURCE_NAME},
    "AWS::ECS::TaskDefinition": {
        "Family": ECS_RESOURCE_NAME,
        "ContainerDefinitions[].Name": ECS_RESOURCE_NAME,
        "ContainerDefinitions[].PortMappings[].Name": ECS_PORT_MAPPING_NAME,
        "Volumes[].Name": ECS_RESOURCE_NAME,
    },
    "AWS::RDS::DBCluster": {
        "DBClusterIdentifier": RDS_IDENTIFIER,
        "DatabaseName": AURORA_POSTGRES_DATABASE_NAME,
        "DBClusterParameterGroupName": RDS_PARAMETER_GROUP_NAME,
        "DBSubnetGroupName": RDS_SUBNET_GROUP_NAME,
    },
    "AWS::RDS::DBInstance": {"DBInstanceIdentifier": RDS_IDENTIFIER, "DBClusterIdentifier": RDS_IDENTIFIER},
    "AWS::RDS::DBClusterParameterGroup": {"DBClusterParameterGroupName": RDS_PARAMETER_GROUP_NAME},
    "AWS::RDS::DBSubnetGroup": {"DBSubnetGroupName": RDS_SUBNET_GROUP_NAME},
    "AWS::SSM::Parameter": {"Name": SSM_PARAMETER_NAME},
    "AWS::CloudWatch::Alarm": {"AlarmName": ALARM_NAME},
    "AWS::CloudWatch::Dashboard": {"DashboardName": DASHBOARD_NAME},
    "AWS::ApiGateway::RestApi": {"Name": API_NAME},
    "AWS::ApiGateway::Stage": {"StageName": API_STAGE_NAME},
    "AWS::ApiGateway::UsagePlan": {"UsagePlanName": API_NAME},
    "AWS::ApiGateway::ApiKey": {"Name": API_KEY_NAME},
    "AWS::ApplicationAutoScaling::ScalingPolicy": {"PolicyName": SCALING_POLICY_NAME},
    "AWS::KMS::Alias": {"AliasName": KMS_ALIAS_NAME},
}

# Properties whose key looks like a name but that name nothing this stack creates.
NOT_NAMES: dict[str, str] = {
    "AWS::CloudWatch::Alarm MetricName": "an AWS metric the alarm reads",
    "AWS::CloudWatch::Alarm Dimensions[].Name": "a metric dimension defined by the namespace",
    "AWS::CloudWatch::Alarm Metrics[].MetricStat.Metric.MetricName": "an AWS metric the alarm reads",
    "AWS::CloudWatch::Alarm Metrics[].MetricStat.Metric.Dimensions[].Name": "a metric dimension defined by the namespace",
    "AWS::ECS::Cluster ClusterSettings[].Name": "an ECS setting key (containerInsights)",
    "AWS::ECS::TaskDefinition ContainerDefinitions[].Environment[].Name": "an environment variable of the container",
    "AWS::ECS::TaskDefinition ContainerDefinitions[].Secrets[].Name": "an environment variable of the container",
    "AWS::ECS::TaskDefinition RuntimePlatform.OperatingSystemFamily": "an enumerated platform (LINUX)",
    "AWS::ElasticLoadBalancingV2::ListenerRule Conditions[].HttpHeaderConfig.HttpHeaderName": "an HTTP header",
    "AWS::CloudFront::Distribution DistributionConfig.Origins[].DomainName": "the origin's DNS name",
    "AWS::CloudFront::Distribution DistributionConfig.Origins[].OriginCustomHeaders[].HeaderName": "an HTTP header",
    "AWS::RDS::DBClusterParameterGroup Family": "an engine parameter-group family (aurora-postgresql17)",
    "AWS::WAFv2::WebACL Rules[].Statement.ManagedRuleGroupStatement.Name": "an AWS managed rule group",
    "AWS::WAFv2::WebACL Rules[].Statement.ManagedRuleGroupStatement.VendorName": "the vendor of a managed rule group",
    "AWS::WAFv2::LoggingConfiguration RedactedFields[].SingleHeader.Name": "an HTTP header",
    "AWS::S3::Bucket LoggingConfiguration.DestinationBucketName": "another bucket of the stack (checked there)",
    "AWS::EC2::FlowLog LogGroupName": "a log group of the stack (checked there)",
    "AWS::Lambda::Permission FunctionName": "the ARN of a function of the stack (checked there)",
}
# Nested request-inspection fields of WAF statements (any depth): HTTP headers, not names.
NOT_NAME_PATTERNS = (
    re.compile(r"AWS::WAFv2::WebACL Rules\[\]\.Statement\..*(SingleHeader|Header)\.Name"),
    re.compile(r"Custom::\S+ \S+"),  # custom resources receive references to resources checked by their own type
)


def is_not_a_name(resource_type: str, path: str) -> bool:
    key = f"{resource_type} {path}"
    return key in NOT_NAMES or any(p.fullmatch(key) for p in NOT_NAME_PATTERNS)


def values_at(properties: dict[str, Any], path: str) -> list[Any]:
    """Every value at `path` ("A.B[].C") in `properties`."""
    values: list[Any] = [properties]
    for part in path.split("."):
        each = part.endswith("[]")
        key = part.removesuffix("[]")
        found = []
        for value in values:
            if isinstance(value, dict) and key in value:
                inner = value[key]
                found += inner if each and isinstance(inner, list) else [inner]
        values = found
    return values


def name_properties(properties: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, value) of every property whose key looks like a name, at any depth (tags excluded)."""
    found: list[tuple[str, Any]] = []
    if isinstance(properties, dict):
        for key, value in properties.items():
            if key == "Tags" or key.startswith("Fn::"):
                continue
            path = f"{prefix}{key}"
            if NAME_KEY.search(key):
                found.append((path, value))
            if isinstance(value, list):
                for item in value:
                    found += name_properties(item, f"{path}[].")
            else:
                found += name_properties(value, f"{path}.")
    return found


# ------------------------------------------------------ worst-case resolution

# Longest values of what CloudFormation substitutes at deploy time.
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws-us-gov",
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::NoValue": "",
}
# What Ref returns for a resource of the stack, as long as it gets (for names built from it).
REF_WORST_CASE = {
    # API Gateway REST API ids are 10 lowercase alphanumerics (e.g. "a1b2c3d4e5").
    "AWS::ApiGateway::RestApi": "a1b2c3d4e5",
}


class Unresolvable(ValueError):
    """A name built from something the worst-case resolver does not know."""


def worst_case(value: Any, *, resources: dict[str, dict[str, Any]], stack_name: str, region: str, account: str | None) -> str:
    """The name CloudFormation would produce, with every placeholder at its longest."""

    def resolve(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, dict) and len(v) == 1:
            (function, argument), *_ = v.items()
            if function == "Ref":
                if argument == "AWS::StackName":
                    return stack_name
                if argument == "AWS::Region":
                    return region
                if argument == "AWS::AccountId" and account:
                    return account
                if argument in PSEUDO_PARAMETERS:
                    return PSEUDO_PARAMETERS[argument]
                resource_type = resources.get(argument, {}).get("Type")
                if resource_type in REF_WORST_CASE:
                    return REF_WORST_CASE[resource_type]
                raise Unresolvable(f"Ref to {argument} ({resource_type}): add its longest value to REF_WORST_CASE")
            if function == "Fn::Join":
                separator, parts = argument
                assert isinstance(separator, str), f"Fn::Join separator {separator!r}"
                return separator.join(resolve(p) for p in parts)
            if function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: resolve(variables[m.group(1)]) if m.group(1) in variables else resolve({"Ref": m.group(1)}),
                    text,
                )
        raise Unresolvable(f"cannot resolve {v!r} to a worst-case name")

    return resolve(value)


def is_reference(value: Any, resources: dict[str, dict[str, Any]]) -> bool:
    """A bare Ref/GetAtt to another resource of the stack: that resource's own name is checked there."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (function, argument), *_ = value.items()
    if function == "Ref":
        return argument in resources
    if function == "Fn::GetAtt":
        return (argument[0] if isinstance(argument, list) else str(argument).split(".")[0]) in resources
    return False
