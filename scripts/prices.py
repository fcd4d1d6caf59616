"""On-demand list prices in ap-southeast-1 (Asia Pacific (Singapore)), USD, for `make cost`.

Table date: 2026-11-27. Each price names the page it is published on. `corroborated` is
the public page (found offline in this repository's reference corpus) that states the
same ap-southeast-1 figure; None means no offline copy stated it, so the figure is
AWS's published regional price as last known and must be checked against the source
page before a budget relies on it. Prices change: re-date the table when you update it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.contract import REGION

TABLE_DATE = "2026-11-27"
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    corroborated: str | None = None


VPC = "https://aws.amazon.com/vpc/pricing/"
PRICES: dict[str, Price] = {
    "nat_gateway_hour": Price(0.059, "per NAT gateway-hour", VPC, "https://basavytix.com/blog/aws-nat-gateway-pricing"),
    "nat_gateway_gb": Price(0.059, "per GB processed", VPC, "https://basavytix.com/blog/aws-nat-gateway-pricing"),
    "public_ipv4_hour": Price(
        0.005, "per public IPv4 address-hour (all regions)", VPC, "https://cloudburn.io/blog/aws-nat-gateway-pricing"
    ),
    "alb_hour": Price(0.0252, "per ALB-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/"),
    "alb_lcu_hour": Price(0.008, "per LCU-hour", "https://aws.amazon.com/elasticloadbalancing/pricing/"),
    "aurora_pg_db.r6g.large_hour": Price(
        0.32, "per instance-hour, Aurora PostgreSQL", "https://aws.amazon.com/rds/aurora/pricing/"
    ),
    "aurora_pg_db.t4g.medium_hour": Price(
        0.094, "per instance-hour, Aurora PostgreSQL", "https://aws.amazon.com/rds/aurora/pricing/"
    ),
    "aurora_pg_db.t4g.large_hour": Price(
        0.188, "per instance-hour, Aurora PostgreSQL", "https://aws.amazon.com/rds/aurora/pricing/"
    ),
    "aurora_storage_gb_month": Price(0.11, "per GB-month (Aurora Standard)", "https://aws.amazon.com/rds/aurora/pricing/"),
    "aurora_io_million": Price(0.22, "per million I/O requests (Aurora Standard)", "https://aws.amazon.com/rds/aurora/pricing/"),
    "fargate_vcpu_hour": Price(0.05056, "per vCPU-hour, Linux/x86", "https://aws.amazon.com/fargate/pricing/"),
    "fargate_gb_hour": Price(0.00553, "per GB-hour, Linux/x86", "https://aws.amazon.com/fargate/pricing/"),
    "waf_web_acl_month": Price(5.0, "per web ACL-month", "https://aws.amazon.com/waf/pricing/"),
    "waf_rule_month": Price(1.0, "per rule-month", "https://aws.amazon.com/waf/pricing/"),
    "waf_million_requests": Price(0.60, "per million requests inspected", "https://aws.amazon.com/waf/pricing/"),
    "kms_key_month": Price(1.0, "per customer managed key-month", "https://aws.amazon.com/kms/pricing/"),
    "secret_month": Price(0.40, "per secret-month", "https://aws.amazon.com/secrets-manager/pricing/"),
    "dashboard_month": Price(3.0, "per dashboard-month (beyond the free 3)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "alarm_metric_month": Price(0.10, "per standard-resolution alarm metric-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "custom_metric_month": Price(0.30, "per metric-month (first 10,000)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "api_gateway_rest_million": Price(
        4.25, "per million REST API calls (first 333 M)", "https://aws.amazon.com/api-gateway/pricing/"
    ),
    "cloudfront_asia_gb": Price(0.120, "per GB to viewers in Asia (first 10 TB)", "https://aws.amazon.com/cloudfront/pricing/"),
    "cloudfront_asia_https_10k": Price(0.012, "per 10,000 HTTPS requests, Asia", "https://aws.amazon.com/cloudfront/pricing/"),
    "cloudfront_functions_million": Price(
        0.10,
        "per million CloudFront Functions invocations (every edge location)",
        "https://aws.amazon.com/cloudfront/pricing/",
        "https://cur.vantage.sh/aws/amazoncloudfront/",
    ),
    "origin_shield_10k": Price(
        0.0090, f"per 10,000 requests reaching origin shield in {REGION}", "https://aws.amazon.com/cloudfront/pricing/"
    ),
}

# Container Insights metrics per ECS service (CloudWatch custom-metric equivalents), an
# estimate of what the service publishes: standard ("enabled") reports cluster- and
# service-level metrics; enhanced adds task- and container-level ones per task.
CONTAINER_INSIGHTS_METRICS = {"enabled": {"per_service": 12, "per_task": 0}, "enhanced": {"per_service": 12, "per_task": 20}}
# Aurora storage assumed for the demo catalog plus indexes and WAL (the template has no size).
AURORA_STORAGE_GB = 10
