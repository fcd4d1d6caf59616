"""The shared quotas an environment draws from: plain facts, no CDK.

Every environment (`TapStack<suffix>`) of one AWS account draws from quotas it shares with the
account's other environments:

* CloudFront is global: cache policies, response headers policies, functions, key groups, public
  keys, origin access controls and distributions count against per-ACCOUNT quotas;
* the network and the database count against per-REGION quotas of the account: its VPC, internet
  gateway, the Elastic IP of each NAT gateway, its Aurora cluster and instances. A default account already has a default VPC with an internet
  gateway in each region (`reserved`). NAT gateways count per Availability Zone (scope "zone"): at
  the default quotas they do not bind (each holds one of the region's 5 Elastic IPs), but in an
  account whose Elastic IP and VPC quotas were both raised (production puts one NAT gateway in each AZ,
  lean every NAT gateway in the first AZ) they do.

`capacity()` counts one synthesized template's use of each and says how many environments like it
one account holds in one region; `scripts/account_quotas.py preflight` checks a deploy against what
the account already has; the README's figures are tested against `capacity()`.

Every value below was read in AWS's documentation (URLs in `source`); `adjustable` is None where
the source does not say. The two pages disagree on one point: the General Reference's service
quotas table says cache policies are not adjustable, while the Developer Guide links a Service
Quotas request (L-7D134442); the table's "No" is what this module records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GENERAL_REFERENCE = "https://docs.aws.amazon.com/general/latest/gr/cf_region.html"
DEVELOPER_GUIDE = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html"


@dataclass(frozen=True)
class Quota:
    """One per-account quota: the CloudFormation type that draws from it and AWS's default."""

    resource_type: str
    name: str
    default: int
    adjustable: bool | None
    source: str
    # "account": one quota for the whole account (CloudFront); "region": one per account and region;
    # "zone": one per Availability Zone of the region.
    scope: str = "account"
    # What a new account already uses of it (the default VPC and its internet gateway).
    reserved: int = 0
    # Service Quotas codes (`aws service-quotas get-service-quota --service-code S --quota-code Q`), where known.
    service_code: str | None = None
    quota_code: str | None = None

    @property
    def adjustable_text(self) -> str:
        return {True: "adjustable", False: "not adjustable", None: "adjustability not documented"}[self.adjustable]


ACCOUNT_QUOTAS = (
    Quota("AWS::CloudFront::CachePolicy", "Cache policies per AWS account", 20, False, GENERAL_REFERENCE),
    Quota(
        "AWS::CloudFront::ResponseHeadersPolicy",
        "Custom response headers policies per AWS account",
        20,
        True,
        DEVELOPER_GUIDE,
    ),
    Quota("AWS::CloudFront::Function", "Functions per AWS account", 100, None, DEVELOPER_GUIDE),
    Quota("AWS::CloudFront::KeyGroup", "Key groups per AWS account", 10, True, DEVELOPER_GUIDE),
    Quota(
        "AWS::CloudFront::PublicKey",
        "Maximum number of public keys that can be added to one AWS account",
        10,
        None,
        DEVELOPER_GUIDE,
    ),
    Quota("AWS::CloudFront::OriginAccessControl", "Origin access controls per AWS account", 100, True, DEVELOPER_GUIDE),
    Quota("AWS::CloudFront::Distribution", "Distributions per AWS account", 500, True, DEVELOPER_GUIDE),
)
VPC_QUOTAS = "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html"
EC2_EIP_QUOTAS = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html"
RDS_QUOTAS = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html"
REGIONAL_QUOTAS = (
    Quota("AWS::EC2::VPC", "VPCs per Region", 5, True, VPC_QUOTAS, "region", 1, "vpc", "L-F678F1CE"),
    Quota("AWS::EC2::InternetGateway", "Internet gateways per Region", 5, True, VPC_QUOTAS, "region", 1, "vpc", "L-A4707A72"),
    Quota("AWS::EC2::EIP", "EC2-VPC Elastic IPs", 5, True, EC2_EIP_QUOTAS, "region", 0, "ec2", "L-0263D0A3"),
    Quota("AWS::EC2::NatGateway", "NAT gateways per Availability Zone", 5, True, VPC_QUOTAS, "zone", 0, "vpc", "L-FE5A380F"),
    Quota("AWS::RDS::DBCluster", "DB clusters", 40, True, RDS_QUOTAS, "region", 0, "rds", "L-952B80B8"),
    Quota("AWS::RDS::DBInstance", "DB instances", 40, True, RDS_QUOTAS, "region", 0, "rds", "L-7B6409FD"),
)
UNKNOWN_ZONE = "an Availability Zone not known before deploy"
QUOTAS = ACCOUNT_QUOTAS + REGIONAL_QUOTAS
QUOTA_BY_TYPE = {quota.resource_type: quota for quota in QUOTAS}


def zone_of(template: Mapping[str, Any], resource: Mapping[str, Any]) -> str:
    """The Availability Zone of a resource placed by `SubnetId: {"Ref": <subnet>}` in a subnet of the template with a
    literal AvailabilityZone (the stack names its zones explicitly); UNKNOWN_ZONE otherwise (counted as one zone)."""
    subnet = resource.get("Properties", {}).get("SubnetId")
    ref = subnet.get("Ref") if isinstance(subnet, Mapping) else None
    zone = template.get("Resources", {}).get(ref, {}).get("Properties", {}).get("AvailabilityZone") if ref else None
    return zone if isinstance(zone, str) else UNKNOWN_ZONE


def per_zone(template: Mapping[str, Any], resource_type: str) -> dict[str, int]:
    """How many resources of `resource_type` the template places in each Availability Zone."""
    counts: dict[str, int] = {}
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == resource_type:
            zone = zone_of(template, resource)
            counts[zone] = counts.get(zone, 0) + 1
    return counts


def usage(template: Mapping[str, Any]) -> dict[str, int]:
    """How many resources of each quota'd type `template` (a synthesized CloudFormation template) creates: in all, or
    for a per-zone quota in its most used Availability Zone."""
    counts = dict.fromkeys(QUOTA_BY_TYPE, 0)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") in counts:
            counts[resource["Type"]] += 1
    for quota in QUOTAS:
        if quota.scope == "zone":
            counts[quota.resource_type] = max(per_zone(template, quota.resource_type).values(), default=0)
    return counts


@dataclass(frozen=True)
class Capacity:
    """How many environments like the template fit in one account and region, and the quotas that set that figure."""

    environments: int
    binding: tuple[Quota, ...]

    def describe(self) -> str:
        names = " and ".join(f"{quota.name} ({quota.default}, {quota.adjustable_text})" for quota in self.binding)
        where = "per account" if all(quota.scope == "account" for quota in self.binding) else "per account and region"
        return f"{self.environments} environments {where}, bound by {names}"


def capacity(template: Mapping[str, Any], quotas: tuple[Quota, ...] = QUOTAS) -> Capacity:
    """min over the quotas of (AWS's default - what a new account already uses) // use; the quotas that reach that
    minimum bind. `quotas=ACCOUNT_QUOTAS` gives the CloudFront figure alone."""
    considered = {quota.resource_type: quota for quota in quotas}
    used = {kind: count for kind, count in usage(template).items() if count and kind in considered}
    if not used:
        raise ValueError("the template creates no resource that draws from a shared quota")
    fits = {kind: (considered[kind].default - considered[kind].reserved) // count for kind, count in used.items()}
    least = min(fits.values())
    return Capacity(least, tuple(considered[kind] for kind, fit in fits.items() if fit == least))


# ----------------------------------------------------------------------------- Fargate vCPU (a running quota)

FARGATE_QUOTAS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html"
# Not a count of resources the template creates but of the vCPU its tasks run, in all of the account's clusters in
# the region together. New accounts may start at 6 (and below); the value AWS reports as the default is far higher,
# so only the account's applied value means anything (`scripts/account_quotas.py` reads it).
FARGATE_VCPU = Quota(
    "AWS::ECS::Service", "Fargate On-Demand vCPU resource count", 6, True, FARGATE_QUOTAS, "region", 0, "fargate", "L-3032A538"
)


# What the region's tasks run now, every cluster and every environment together: the quota's usage metric, the latest
# minute's maximum (ECS Developer Guide, "AWS Fargate usage metrics": namespace AWS/Usage, ResourceCount, and these
# dimensions for On-Demand vCPU). It has no data while nothing runs.
FARGATE_USAGE_DOCS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/monitoring-fargate-usage.html"
FARGATE_VCPU_USAGE_METRIC: dict[str, Any] = {
    "Namespace": "AWS/Usage",
    "MetricName": "ResourceCount",
    "Dimensions": [
        {"Name": "Service", "Value": "Fargate"},
        {"Name": "Type", "Value": "Resource"},
        {"Name": "Resource", "Value": "vCPU"},
        {"Name": "Class", "Value": "Standard/OnDemand"},
    ],
}


@dataclass(frozen=True)
class FargateNeed:
    """The vCPU an environment's Fargate tasks run: at rest (every service at its minimum), at its maximum scale, and
    during a blue/green release, which starts a second set of tasks beside the running one: from rest twice the rest,
    under full load twice the maximum (ECS keeps scaling out during a deployment, and does not scale in)."""

    rest: float
    maximum: float

    @property
    def release(self) -> float:
        return 2 * self.rest

    @property
    def release_at_maximum(self) -> float:
        return 2 * self.maximum


@dataclass(frozen=True)
class FargateService:
    """One Fargate service of a template: its logical id and properties, its task size, its task counts (its
    scalable target's minimum and maximum, its DesiredCount when it has none) and that target's logical id."""

    logical_id: str
    properties: Mapping[str, Any]
    vcpu: float
    min_tasks: int
    max_tasks: int
    scalable_target: str | None


def fargate_services(template: Mapping[str, Any]) -> list[FargateService]:
    """The template's Fargate services; the task size is the TaskDefinition's Cpu (CPU units of 1/1024 vCPU)."""
    resources = template.get("Resources", {})
    found = []
    for service_id, service in resources.items():
        props = service.get("Properties", {})
        if service.get("Type") != "AWS::ECS::Service" or props.get("LaunchType") != "FARGATE":
            continue
        task_ref = props.get("TaskDefinition")
        if not isinstance(task_ref, Mapping) or task_ref.get("Ref") not in resources:
            raise ValueError(f"{service_id}: TaskDefinition is not a Ref to a task definition of the template: {task_ref!r}")
        vcpu = int(resources[task_ref["Ref"]]["Properties"]["Cpu"]) / 1024
        low = high = int(props.get("DesiredCount", 1))
        target_id = None
        for candidate_id, target in resources.items():
            resource_id = json.dumps(target.get("Properties", {}).get("ResourceId", ""))
            if target.get("Type") == "AWS::ApplicationAutoScaling::ScalableTarget" and f'"{service_id}"' in resource_id:
                low, high = int(target["Properties"]["MinCapacity"]), int(target["Properties"]["MaxCapacity"])
                target_id = candidate_id
        found.append(FargateService(service_id, props, vcpu, low, high, target_id))
    return found


def fargate_vcpu(template: Mapping[str, Any]) -> FargateNeed:
    """What the template's Fargate services run: each task size times its minimum, and times its maximum."""
    services = fargate_services(template)
    return FargateNeed(
        sum(service.vcpu * service.min_tasks for service in services),
        sum(service.vcpu * service.max_tasks for service in services),
    )
