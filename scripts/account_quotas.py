#!/usr/bin/env python3
"""Check the quotas an environment shares with the account's others before `cdk deploy` starts.

CloudFront is global: every environment of an account draws its cache policies, response headers
policies, functions, key groups, public keys and origin access controls from one per-account quota.
Its VPC, internet gateway, NAT gateways (per zone) and their Elastic IPs, and its Aurora cluster and
instances count against per-region quotas of the account, and its Fargate tasks against the
region's Fargate vCPU, beside what the region's tasks run now (the AWS/Usage metric; lib/quotas.py). A deploy that crosses one fails half-way (e.g.
`TooManyCachePolicies`, `AddressLimitExceeded`, `VpcLimitExceeded`, `InstanceQuotaExceeded`) and
rolls back, or waits for tasks that cannot start. It also asks RDS whether it offers each DB
instance class of the template for the cluster's engine version in the zones it is placed in (a
class it does not offer fails the deploy after the cluster exists). `preflight` lists what the account has, adds what
the synthesized template of this environment would create (nothing for what its stack already has:
a redeploy adds nothing), and refuses when a quota would be exceeded, naming the environments that
use it; it also refuses a template whose network differs from the deployed environment's (another
PROFILE) unless `--allow-profile-change`:

    python scripts/account_quotas.py preflight --suffix pr123 --template cdk.out/deploy-pr123/TapStackpr123.template.json
    python scripts/account_quotas.py capacity --template cdk.out/TapStackdev.template.json

Distributions (500 per account, one per environment) are not listed: cache policies bind long before.
The regional limits are the account's applied values, read from Service Quotas and RDS (AWS's
default, said on the line, when they cannot be read; Fargate vCPU and the DB quotas are skipped
then); the CloudFront limits are AWS's defaults. `--quota TYPE=N` (e.g. `--quota KeyGroup=20`,
`--quota EIP=10`, `--quota FargateVCPU=20`) states a raised quota and wins over both.

Exit codes: 0 OK; 1 AWS error; 2 bad input; 3 refused (nothing was deployed).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.config import ConfigError, default_profile, validate_suffix  # noqa: E402  (the repository root is put on the path first)
from lib.contract import REGION, Names  # noqa: E402
from lib.quotas import (  # noqa: E402
    FARGATE_VCPU,
    FARGATE_VCPU_USAGE_METRIC,
    QUOTA_BY_TYPE,
    REGIONAL_QUOTAS,
    UNKNOWN_ZONE,
    FargateNeed,
    Quota,
    capacity,
    fargate_vcpu,
    per_zone,
)
from scripts.cli import EXIT_AWS, EXIT_INPUT, EXIT_OK, AwsError, InputError, exits_on  # noqa: E402

EXIT_QUOTA = 3


class QuotaError(Exception):
    """A quota would be exceeded. Exit code 3."""


@dataclass(frozen=True)
class Listing:
    """How to list one quota'd type: the CloudFront call, its list key, and where each item's name is."""

    operation: str
    list_key: str
    name_path: tuple[str, ...]
    template_name_path: tuple[str, ...]
    params: Mapping[str, str]


LISTINGS = {
    "AWS::CloudFront::CachePolicy": Listing(
        "list_cache_policies",
        "CachePolicyList",
        ("CachePolicy", "CachePolicyConfig", "Name"),
        ("CachePolicyConfig", "Name"),
        {"Type": "custom"},
    ),
    "AWS::CloudFront::ResponseHeadersPolicy": Listing(
        "list_response_headers_policies",
        "ResponseHeadersPolicyList",
        ("ResponseHeadersPolicy", "ResponseHeadersPolicyConfig", "Name"),
        ("ResponseHeadersPolicyConfig", "Name"),
        {"Type": "custom"},
    ),
    "AWS::CloudFront::Function": Listing("list_functions", "FunctionList", ("Name",), ("Name",), {}),
    "AWS::CloudFront::KeyGroup": Listing(
        "list_key_groups", "KeyGroupList", ("KeyGroup", "KeyGroupConfig", "Name"), ("KeyGroupConfig", "Name"), {}
    ),
    "AWS::CloudFront::PublicKey": Listing("list_public_keys", "PublicKeyList", ("Name",), ("PublicKeyConfig", "Name"), {}),
    "AWS::CloudFront::OriginAccessControl": Listing(
        "list_origin_access_controls",
        "OriginAccessControlList",
        ("Name",),
        ("OriginAccessControlConfig", "Name"),
        {},
    ),
}


def _dig(value: Any, path: Sequence[str]) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def error_code(error: Exception) -> str:
    """An AWS error's code (AccessDenied, ...), or a botocore error's class name (a connection failure, ...)."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else type(error).__name__


def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
    except (ClientError, BotoCoreError) as error:
        raise AwsError(f"{operation}: {error}") from error
    return response


def existing_names(cloudfront: Any, listing: Listing) -> list[str]:
    """Every name of the type in the account, all pages (Marker/NextMarker), each once (a function is listed per stage)."""
    names: dict[str, None] = {}
    marker: str | None = None
    while True:
        params = dict(listing.params, **({"Marker": marker} if marker else {}))
        page = _call(cloudfront, listing.operation, **params)[listing.list_key]
        for item in page.get("Items", []):
            names[str(_dig(item, listing.name_path))] = None
        marker = page.get("NextMarker")
        if not marker:
            return list(names)


@dataclass(frozen=True)
class Planned:
    """What the template creates of one type: the names it gives, and how many it leaves to CloudFormation."""

    names: tuple[str, ...]
    unnamed: int


def planned(template: Mapping[str, Any]) -> dict[str, Planned]:
    found: dict[str, tuple[list[str], int]] = {kind: ([], 0) for kind in LISTINGS}
    for resource in template.get("Resources", {}).values():
        kind = resource.get("Type")
        if kind not in LISTINGS:
            continue
        name = _dig(resource.get("Properties", {}), LISTINGS[kind].template_name_path)
        names, unnamed = found[kind]
        found[kind] = ([*names, name], unnamed) if isinstance(name, str) else (names, unnamed + 1)
    return {kind: Planned(tuple(names), unnamed) for kind, (names, unnamed) in found.items()}


def owner(name: str, own_names: Sequence[str], suffix: str) -> str:
    """The environment a resource belongs to, read from its name by the pattern of a name this environment gives
    the same resource: `<prefix>-<env>` (lib/contract.py Names), or CDK's generated
    `TapStack<env><construct path><8-character hash>`; OTHER when no pattern fits."""
    stack = Names(suffix).stack
    head = stack.removesuffix(suffix)
    for own in own_names:
        if own.endswith(f"-{suffix}"):
            prefix = own.removesuffix(suffix)
            if name.startswith(prefix) and len(name) > len(prefix):
                return name[len(prefix) :]
        elif own.startswith(stack) and len(own) > len(stack) + 8:
            stem = own[len(stack) : -8]
            at = name.find(stem, len(head))
            if name.startswith(head) and at > len(head):
                return name[len(head) : at]
    return OTHER


# Owners that no environment suffix can spell (a suffix has no spaces or parentheses).
OTHER = "(other)"
DEFAULT_VPC = "(default VPC)"
REGION_TOTAL = "(all in the region)"
# A stack in one of these states holds none of its resources (or is going): the next deploy creates them anew.
# ROLLBACK_COMPLETE/ROLLBACK_FAILED: its create failed; REVIEW_IN_PROGRESS: a change set nobody executed.
EMPTY_STACK_STATES = frozenset(
    {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"}
)
# The tag CloudFormation puts on every taggable resource of a stack: which stack (by id) created it.
STACK_ID_TAG = "aws:cloudformation:stack-id"


def stack_id(cloudformation: Any, suffix: str) -> str | None:
    """The id of the environment's stack when it exists and holds its resources, else None."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=Names(suffix).stack).get("Stacks", [])
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            return None
        raise AwsError(f"describe_stacks: {error}") from error
    except BotoCoreError as error:
        raise AwsError(f"describe_stacks: {error}") from error
    live = [stack for stack in stacks if stack.get("StackStatus") not in EMPTY_STACK_STATES]
    return str(live[0].get("StackId", "")) if live else None


class Deployed:
    """The environment's stack, asked once and only when a check needs it: true when it exists and holds its
    resources; `stack_id` is its id then (None otherwise)."""

    def __init__(self, cloudformation: Any, suffix: str) -> None:
        self.cloudformation, self.suffix = cloudformation, suffix
        self._asked = False
        self._id: str | None = None

    @property
    def stack_id(self) -> str | None:
        if not self._asked:
            self._id, self._asked = stack_id(self.cloudformation, self.suffix), True
        return self._id

    def __bool__(self) -> bool:
        return self.stack_id is not None

    def owns(self, tags: Mapping[str, str]) -> bool:
        """A resource tagged for this environment is the stack's own: created by the stack that exists now (its
        stack-id tag), or, without that tag, while the stack exists. Anything else a destroy left behind."""
        if STACK_ID_TAG in tags:
            return self.stack_id is not None and tags[STACK_ID_TAG] == self.stack_id
        return bool(self)


# Where a check's limit came from.
DEFAULT, APPLIED, GIVEN = "default", "applied", "--quota"  # applied: read from Service Quotas or RDS


@dataclass(frozen=True)
class Check:
    quota: Quota
    in_use: Counter[str]
    adds: int
    limit: int
    limit_from: str = DEFAULT
    note: str = ""
    place: str = "this region"  # where a per-region or per-zone quota was counted
    planned: int = 0  # how many the template has (per-region quotas)
    profile_change: bool = False  # the deployed environment has another number of them than its template

    @property
    def total(self) -> int:
        return sum(self.in_use.values()) + self.adds

    @property
    def exceeded(self) -> bool:
        """The deploy would create something over the limit. A deploy that adds nothing is never refused: an account
        already over the limit the tool believes (a raised quota it could not read) deploys what it has."""
        return self.adds > 0 and self.total > self.limit

    @property
    def status(self) -> str:
        if self.exceeded:
            return "EXCEEDED "
        return "over     " if self.total > self.limit else "ok       "

    def describe(self, suffix: str) -> str:
        users = ", ".join(f"{env}: {count}" for env, count in sorted(self.in_use.items())) or "none"
        if self.limit_from == GIVEN:
            limit = f"limit {self.limit} (raised with --quota; AWS's default {self.quota.default})"
        elif self.limit_from == APPLIED and self.limit != self.quota.default:
            limit = f"limit {self.limit} (the account's applied quota; AWS's default {self.quota.default})"
        else:
            limit = f"limit {self.limit} ({self.quota.adjustable_text})"
        scope = "" if self.quota.scope == "account" else f" in {self.place}"
        text = f"{self.quota.name}: {limit}; {sum(self.in_use.values())} in use{scope} ({users}); {Names(suffix).stack} adds {self.adds}"
        return text + (f" ({self.note})" if self.note else "")


def short_type(kind: str) -> str:
    """`AWS::CloudFront::KeyGroup` -> `KeyGroup`: how --quota names a quota."""
    return kind.rsplit("::", 1)[1]


def quota_override(raw: str) -> tuple[str, int]:
    """`--quota KeyGroup=20`: the account's raised quota for one type (argparse type)."""
    kind, sep, value = raw.partition("=")
    by_short = {short_type(k): k for k in (*LISTINGS, *(quota.resource_type for quota in REGIONAL_QUOTAS))}
    by_short[FARGATE_VCPU_OPTION] = FARGATE_VCPU.resource_type
    allowed = sorted(by_short)
    full = by_short.get(kind, "")
    if not sep or not full or not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(
            f"{raw!r}: expected TYPE=N, TYPE one of {', '.join(allowed)}, N the account's quota (a positive integer)"
        )
    return full, int(value)


def checks(
    cloudfront: Any,
    deployed: Deployed,
    template: Mapping[str, Any],
    suffix: str,
    limits: Mapping[str, int] | None = None,
) -> list[Check]:
    """One check per quota'd type the template creates; `limits` replaces AWS's default for raised quotas."""
    limits = limits or {}
    plan = planned(template)
    result = []
    for kind, listing in LISTINGS.items():
        mine = plan[kind]
        if not mine.names and not mine.unnamed:
            continue
        names = existing_names(cloudfront, listing)
        adds = sum(1 for name in mine.names if name not in names)
        if mine.unnamed:
            adds += 0 if deployed else mine.unnamed
        in_use = Counter(owner(name, mine.names, suffix) for name in names)
        quota = QUOTA_BY_TYPE[kind]
        given = kind in limits
        result.append(Check(quota, in_use, adds, limits[kind] if given else quota.default, GIVEN if given else DEFAULT))
    return result


# ----------------------------------------------------------------------------- per-region quotas (EC2, RDS)


@dataclass(frozen=True)
class Clients:
    cloudfront: Any
    cloudformation: Any
    ec2: Any
    service_quotas: Any
    sts: Any
    rds: Any
    cloudwatch: Any


@dataclass(frozen=True)
class RegionalListing:
    """How to list one per-region type: the EC2 call, its list key, its filters."""

    operation: str
    list_key: str
    params: Mapping[str, Any] | None = None


# The per-region RDS quotas, as rds:DescribeAccountAttributes names them (it answers usage and applied quota at once).
RDS_QUOTA_NAMES = {"AWS::RDS::DBInstance": "DBInstances", "AWS::RDS::DBCluster": "DBClusters"}
# NAT gateways that hold their place in the quota: not yet deleted or failed.
LIVE_NAT_STATES = ("pending", "available", "deleting")
REGIONAL_LISTINGS = {
    "AWS::EC2::VPC": RegionalListing("describe_vpcs", "Vpcs"),
    "AWS::EC2::InternetGateway": RegionalListing("describe_internet_gateways", "InternetGateways"),
    "AWS::EC2::EIP": RegionalListing("describe_addresses", "Addresses"),
    "AWS::EC2::NatGateway": RegionalListing(
        "describe_nat_gateways", "NatGateways", {"Filter": [{"Name": "state", "Values": list(LIVE_NAT_STATES)}]}
    ),
}
assert set(REGIONAL_LISTINGS) | set(RDS_QUOTA_NAMES) == {quota.resource_type for quota in REGIONAL_QUOTAS}
# Internet gateways per Region "is directly correlated with" VPCs per Region and is raised with it (VPC User Guide).
FOLLOWS = {"AWS::EC2::InternetGateway": "AWS::EC2::VPC"}
# Resources other accounts own but this one sees (VPCs shared through AWS RAM) count against their owner's quota.
OWNED_TYPES = frozenset({"AWS::EC2::VPC", "AWS::EC2::InternetGateway"})


def _tags(resource: Mapping[str, Any]) -> dict[str, str]:
    return {str(tag.get("Key")): str(tag.get("Value")) for tag in resource.get("Tags") or [] if isinstance(tag, dict)}


def existing_items(ec2: Any, listing: RegionalListing) -> list[dict[str, Any]]:
    """Every item of the type in the region, all pages (botocore's paginator where the call pages)."""
    from botocore.exceptions import BotoCoreError, ClientError

    params = dict(listing.params or {})
    try:
        if ec2.can_paginate(listing.operation):
            pages = list(ec2.get_paginator(listing.operation).paginate(**params))
        else:
            pages = [getattr(ec2, listing.operation)(**params)]
    except (ClientError, BotoCoreError) as error:
        raise AwsError(f"{listing.operation}: {error}") from error
    return [item for page in pages for item in page.get(listing.list_key, [])]


def regional_owner(
    item: Mapping[str, Any], project: str, default_vpcs: set[str], mine: tuple[str, Deployed] | None = None
) -> str:
    """Whose an EC2 resource is: the `Environment` tag of a resource tagged with the platform's `Project`, the
    account's default VPC (or its internet gateway), or OTHER. `mine` is the deploying environment and its stack:
    what carries that environment's tags but is not its stack's (a destroy that failed half-way) is "left behind",
    not what a redeploy keeps."""
    tags = _tags(item)
    if tags.get("Project") == project and "Environment" in tags:
        env = tags["Environment"]
        if mine is not None and env == mine[0] and not mine[1].owns(tags):
            return f"{env} (left behind)"
        return env
    attached = {str(a.get("VpcId")) for a in item.get("Attachments") or []}
    if item.get("IsDefault") or attached & default_vpcs:
        return DEFAULT_VPC
    return OTHER


def applied_quota(quotas: Any, quota: Quota) -> tuple[int, str, str]:
    """The account's applied value of a quota in Service Quotas: (limit, where it came from, note).

    A quota nobody changed may have no applied value (NoSuchResourceException): AWS's default applies. A caller
    without servicequotas:GetServiceQuota gets AWS's default with a note saying so, not an error."""
    from botocore.exceptions import BotoCoreError, ClientError

    def not_read(code: str, hint: str = "; pass --quota if raised") -> tuple[int, str, str]:
        return quota.default, DEFAULT, f"Service Quotas not read ({code}): AWS's default assumed{hint}"

    try:
        response = quotas.get_service_quota(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)
    except ClientError as error:
        code = error_code(error)
        if code == "NoSuchResourceException":
            return quota.default, DEFAULT, ""
        return not_read(code)
    except BotoCoreError as error:
        return not_read(type(error).__name__, "")
    answer = response.get("Quota", {})
    if answer.get("ErrorReason"):
        return not_read(answer["ErrorReason"].get("ErrorCode", "ErrorReason"))
    value = answer.get("Value")
    if not isinstance(value, int | float) or value < 1:
        return quota.default, DEFAULT, ""
    return int(value), APPLIED, ""


def template_tags(template: Mapping[str, Any], kind: str) -> dict[str, str]:
    """The tags the template gives its first resource of `kind` (every resource carries the stack's tags)."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == kind:
            return _tags(resource.get("Properties", {}))
    return {}


def subnet_zones(ec2: Any, subnet_ids: set[str]) -> dict[str, str]:
    """SubnetId -> Availability Zone of the given subnets."""
    if not subnet_ids:
        return {}
    subnets = existing_items(ec2, RegionalListing("describe_subnets", "Subnets", {"SubnetIds": sorted(subnet_ids)}))
    return {str(subnet["SubnetId"]): str(subnet["AvailabilityZone"]) for subnet in subnets}


def zone_check(
    ec2: Any, items: list[dict[str, Any]], labels: list[str], template: Mapping[str, Any], kind: str, suffix: str
) -> tuple[Counter[str], int, str]:
    """A per-zone quota: (who uses the busiest zone this environment places resources in, what it adds there, and
    which zone that is). The template's zones are literal (the stack names them); existing resources are placed by
    their subnet; `labels` are their owners (`owners`)."""
    zones = subnet_zones(ec2, {str(item.get("SubnetId")) for item in items if item.get("SubnetId")})
    planned = per_zone(template, kind)
    worst: tuple[int, str, Counter[str], int] | None = None
    for zone, count in sorted(planned.items()):
        in_use = Counter(
            label
            for item, label in zip(items, labels, strict=True)
            if zone == UNKNOWN_ZONE or zones.get(str(item.get("SubnetId"))) == zone
        )
        adds = max(0, count - in_use.get(suffix, 0))
        total = sum(in_use.values()) + adds
        if worst is None or total > worst[0]:
            worst = (total, zone, in_use, adds)
    assert worst is not None  # the caller checks the template places some
    return worst[2], worst[3], worst[1]


# CloudFormation's tag naming the resource of the template a resource was created for.
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"


def owners(items: list[dict[str, Any]], owner_of: Callable[[Mapping[str, Any]], str], suffix: str) -> list[str]:
    """The owner of each item (`regional_owner`), and of the deploying environment's own at most one per resource of
    its template: an update that replaced a resource and could not delete the old one leaves two with the same
    logical-id tag under the same stack, and the second is left behind, not part of the environment."""
    labels = [owner_of(item) for item in items]
    seen: set[str] = set()
    for index, (item, label) in enumerate(zip(items, labels, strict=True)):
        logical_id = _tags(item).get(LOGICAL_ID_TAG)
        if label == suffix and logical_id:
            if logical_id in seen:
                labels[index] = f"{suffix} (left behind)"
            seen.add(logical_id)
    return labels


def rds_usage(rds: Any) -> tuple[dict[str, tuple[int, int]], str]:
    """DescribeAccountAttributes: (quota name -> (used, applied maximum) in this region, and why it is empty).

    Without the permission (or the call failing) the DB quotas are not checked, and the line says so: like a
    Service Quotas value that could not be read, it must not stop every deploy."""
    try:
        quotas = _call(rds, "describe_account_attributes").get("AccountQuotas", [])
    except AwsError as error:
        return {}, f"not checked: {error}"
    return {str(q.get("AccountQuotaName")): (int(q.get("Used", 0)), int(q.get("Max", 0))) for q in quotas}, ""


def regional_checks(
    clients: Clients,
    deployed: Deployed,
    template: Mapping[str, Any],
    suffix: str,
    limits: Mapping[str, int] | None = None,
    skipped: list[str] | None = None,
) -> list[Check]:
    """One check per per-region type the template creates. What this environment already has (a redeploy of a stack
    that exists) is not added again; a deployed environment whose template has another number (a profile change)
    is marked. Quotas that could not be read are named in `skipped`."""
    result = []
    limits = limits or {}
    skipped = skipped if skipped is not None else []
    resources = template.get("Resources", {}).values()
    if any(r.get("Type") in QUOTA_BY_TYPE and QUOTA_BY_TYPE[r["Type"]].scope != "account" for r in resources):
        bool(deployed)  # asked up front, once: whose the tagged resources are depends on it
    default_vpcs: set[str] = set()
    account: str | None = None
    applied: dict[str, tuple[int, str]] = {}
    rds: dict[str, tuple[int, int]] | None = None
    rds_note = ""
    for quota in REGIONAL_QUOTAS:
        kind = quota.resource_type
        planned_count = sum(1 for r in resources if r.get("Type") == kind)
        if not planned_count:
            continue
        given = kind in limits
        note, place, profile_change = "", "this region", False
        if kind in RDS_QUOTA_NAMES:
            # Usage and the applied quota in one call; RDS names no owner, so the count is the region's.
            if rds is None:
                rds, rds_note = rds_usage(clients.rds)
            if RDS_QUOTA_NAMES[kind] not in rds:
                skipped.append(f"{quota.name}: {rds_note or 'not in rds:DescribeAccountAttributes'}")
                continue
            used, maximum = rds[RDS_QUOTA_NAMES[kind]]
            in_use: Counter[str] = Counter({REGION_TOTAL: used} if used else {})
            adds = 0 if deployed else planned_count
            limit = limits[kind] if given else maximum or quota.default
            limit_from = GIVEN if given else (APPLIED if limit != quota.default else DEFAULT)
            result.append(Check(quota, in_use, adds, limit, limit_from, "", place, planned_count))
            continue
        project = template_tags(template, kind).get("Project", "")
        items = existing_items(clients.ec2, REGIONAL_LISTINGS[kind])
        if kind in OWNED_TYPES:
            account = account or str(_call(clients.sts, "get_caller_identity")["Account"])
            items = [item for item in items if str(item.get("OwnerId", account)) == account]
        if kind == "AWS::EC2::VPC":
            default_vpcs = {str(vpc.get("VpcId")) for vpc in items if vpc.get("IsDefault")}
        owner_of = functools.partial(regional_owner, project=project, default_vpcs=default_vpcs, mine=(suffix, deployed))
        labels = owners(items, owner_of, suffix)
        if quota.scope == "zone":
            in_use, adds, place = zone_check(clients.ec2, items, labels, template, kind, suffix)
        else:
            in_use = Counter(labels)
            mine = in_use.get(suffix, 0)
            adds = max(0, planned_count - mine)
            profile_change = bool(mine) and mine != planned_count
            if profile_change:
                note = f"it has {mine}, its template {planned_count}: was it deployed with another PROFILE?"
        if given:
            limit, limit_from, why = limits[kind], GIVEN, ""
        else:
            limit, limit_from, why = applied_quota(clients.service_quotas, quota)
            follows = FOLLOWS.get(kind)
            if follows in applied and applied[follows][0] > limit:
                # AWS: this quota is raised by raising the one it follows (and is as high as that one).
                limit, limit_from = applied[follows]
                why = f"follows {QUOTA_BY_TYPE[follows].name}"
        applied[kind] = (limit, limit_from)
        note = "; ".join(part for part in (note, why) if part)
        result.append(Check(quota, in_use, adds, limit, limit_from, note, place, planned_count, profile_change))
    return result


# --quota's name for the Fargate vCPU quota (it counts no resource type of the template).
FARGATE_VCPU_OPTION = "FargateVCPU"


@dataclass(frozen=True)
class FargateCheck:
    """The account's Fargate On-Demand vCPU quota against what this environment runs and what the region's tasks run
    now (every environment's and anything else's: the quota's usage metric, `in_use`; None when it could not be read).

    Refused (the deploy would wait for tasks that cannot start): a quota below this environment's release from rest,
    or, for a new environment, below what the region runs now plus its tasks at rest. A deployed environment's own
    tasks are already in `in_use`, and a deploy starts tasks only for a service whose definition changed (an
    edge-secret rotation starts none), so for it the region's load only warns. Warned (`short`: a scale-out or a
    release would stop short): a quota below this environment's release at maximum scale, below what the region runs
    plus this environment's maximum, or (deployed) below what the region runs plus a release's second set at rest."""

    limit: int
    limit_from: str
    need: FargateNeed
    in_use: float | None = None
    deployed: bool = False

    @property
    def beside_the_region(self) -> bool:
        """The tasks a release (deployed) or a first deploy (new) starts at rest do not fit beside the region's."""
        return self.in_use is not None and self.in_use + self.need.rest > self.limit

    @property
    def exceeded(self) -> bool:
        return self.limit < self.need.release or (not self.deployed and self.beside_the_region)

    @property
    def short(self) -> bool:
        at_maximum = self.in_use is not None and self.in_use + self.need.maximum > self.limit
        return self.limit < self.need.release_at_maximum or at_maximum or self.beside_the_region

    def describe(self, suffix: str) -> str:
        source = "raised with --quota" if self.limit_from == GIVEN else "the account's applied quota"
        need = self.need
        text = (
            f"{FARGATE_VCPU.name}: limit {self.limit} ({source}); {Names(suffix).stack} needs {need.rest:g} vCPU at "
            f"rest, {need.release:g} during a release, {need.maximum:g} at maximum scale, {need.release_at_maximum:g} "
            "during a release at maximum scale"
        )
        if self.in_use is None:
            return text + " (the region's other tasks not counted)"
        starts = "a release of its services starts" if self.deployed else "its first deploy starts"
        return (
            f"{text}; the region's tasks run {self.in_use:g} vCPU now, {starts} {need.rest:g} more: {self.in_use + need.rest:g}"
        )

    @property
    def status(self) -> str:
        return "EXCEEDED " if self.exceeded else "short    " if self.short else "ok       "


# How far back the usage metric is read for its latest minute (it is published every minute while tasks run).
USAGE_WINDOW_MINUTES = 15


def utc_now() -> datetime:
    return datetime.now(UTC)


def fargate_in_use(cloudwatch: Any, skipped: list[str]) -> float | None:
    """The On-Demand vCPU the region's Fargate tasks run now: the latest minute of the usage metric (AWS/Usage,
    lib/quotas.py FARGATE_VCPU_USAGE_METRIC) in the last USAGE_WINDOW_MINUTES; 0 when a complete answer has no data
    (nothing ran), None (said in `skipped`) when it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    def not_read(why: str) -> None:
        skipped.append(
            f"the region's running Fargate tasks: cloudwatch:GetMetricData {why}; the Fargate check counts this environment alone"
        )

    end = utc_now()
    query = {
        "Id": "fargate_vcpu",
        "MetricStat": {"Metric": FARGATE_VCPU_USAGE_METRIC, "Period": 60, "Stat": "Maximum"},
        "ReturnData": True,
    }
    try:
        response = cloudwatch.get_metric_data(
            MetricDataQueries=[query], StartTime=end - timedelta(minutes=USAGE_WINDOW_MINUTES), EndTime=end
        )
    except (ClientError, BotoCoreError) as error:
        code = error_code(error)
        not_read(f"not read ({code})")
        return None
    result: dict[str, Any] = next(iter(response.get("MetricDataResults", [])), {})
    # Newest first (ScanBy's default, TimestampDescending).
    values = result.get("Values", [])
    if values:
        return float(values[0])
    if result.get("StatusCode") != "Complete":
        not_read(f"answered {result.get('StatusCode')} without data")
        return None
    return 0.0


def fargate_check(
    clients: Clients, deployed: Deployed, template: Mapping[str, Any], limits: Mapping[str, int], skipped: list[str]
) -> FargateCheck | None:
    """None when the template runs no Fargate task, or (said in `skipped`) when the account's value is unknown: the
    default AWS reports is far above what new accounts get, so it is no stand-in."""
    need = fargate_vcpu(template)
    if not need.maximum:
        return None
    if FARGATE_VCPU.resource_type in limits:
        limit, limit_from = limits[FARGATE_VCPU.resource_type], GIVEN
    else:
        limit, limit_from, why = applied_quota(clients.service_quotas, FARGATE_VCPU)
        if limit_from != APPLIED:
            reason = why.split(":")[0] if why else "no applied value in Service Quotas"
            skipped.append(
                f"{FARGATE_VCPU.name}: {reason}; this environment needs {need.release:g} vCPU during a release, "
                f"{need.release_at_maximum:g} during a release at maximum scale (--quota {FARGATE_VCPU_OPTION}=N)"
            )
            return None
    return FargateCheck(limit, limit_from, need, fargate_in_use(clients.cloudwatch, skipped), bool(deployed))


# The zones of an orderable option that names none: RDS places its instances itself, anywhere in the region.
ANY_ZONE = "(any zone)"


@dataclass(frozen=True)
class DbOffering:
    """An Aurora instance class of the template, the zones the template places it in, and the zones RDS offers it in
    for the cluster's engine version (rds:DescribeOrderableDBInstanceOptions; empty: not offered in the region). A
    class or engine version RDS does not offer there fails the deploy half-way, after the cluster was created.

    For a deployed environment it only warns: RDS retires classes and versions for new instances, and instances the
    deploy leaves as they are are not created again (the preflight cannot tell a changed class from an unchanged one
    without reading the instances)."""

    engine: str
    version: str
    instance_class: str
    zones: tuple[str, ...]
    offered: frozenset[str]
    deployed: bool = False

    @property
    def missing(self) -> list[str]:
        if not self.offered:
            return list(self.zones) or ["this region"]
        if ANY_ZONE in self.offered:
            return []
        return [zone for zone in self.zones if zone not in self.offered]

    def describe(self, suffix: str) -> str:
        what = f"{self.instance_class} for {self.engine} {self.version}"
        if not self.offered:
            text = f"DB instance class: {what} is not offered in this region"
        elif self.missing:
            where = ", ".join(sorted(self.offered))
            text = f"DB instance class: {what} is not offered in {', '.join(self.missing)} (offered in {where})"
        else:
            return f"DB instance class: {what} is offered in {', '.join(self.zones) or 'this region'}"
        if self.deployed:
            text += f" (for new instances; {Names(suffix).stack} exists: a deploy that creates or changes one would fail)"
        return text

    @property
    def refused(self) -> bool:
        return bool(self.missing) and not self.deployed

    @property
    def status(self) -> str:
        return "REFUSED  " if self.refused else "short    " if self.missing else "ok       "


def template_db_instances(template: Mapping[str, Any]) -> dict[tuple[str, str, str], tuple[str, ...]]:
    """(engine, engine version, instance class) -> the zones the template places such instances in (none: RDS
    places them), for the DB instances that name a class and belong to a cluster of the template naming its engine
    and version, all as plain values."""
    resources = template.get("Resources", {})
    found: dict[tuple[str, str, str], list[str]] = {}
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource.get("Type") != "AWS::RDS::DBInstance" or "DBInstanceClass" not in props:
            continue
        cluster_ref = props.get("DBClusterIdentifier")
        cluster = resources.get(cluster_ref.get("Ref")) if isinstance(cluster_ref, Mapping) else None
        cluster_props = (cluster or {}).get("Properties", {})
        if "Engine" not in cluster_props or "EngineVersion" not in cluster_props:
            continue
        values = (
            cluster_props["Engine"],
            cluster_props["EngineVersion"],
            props["DBInstanceClass"],
            props.get("AvailabilityZone", ""),
        )
        if not all(isinstance(value, str) for value in values):
            continue  # resolved only at deploy time (a Ref, an Fn::): nothing to ask RDS about
        engine, version, instance_class, zone = values
        found.setdefault((engine, version, instance_class), []).append(zone)
    return {key: tuple(sorted({zone for zone in zones if zone})) for key, zones in found.items()}


def db_offerings(rds: Any, deployed: Deployed, template: Mapping[str, Any], skipped: list[str]) -> list[DbOffering]:
    """Where RDS offers each of the template's DB instance classes for its engine version; none (said in `skipped`)
    when the caller may not ask."""
    from botocore.exceptions import BotoCoreError, ClientError

    offerings = []
    for (engine, version, instance_class), zones in template_db_instances(template).items():
        offered: set[str] = set()
        try:
            pages = rds.get_paginator("describe_orderable_db_instance_options").paginate(
                Engine=engine, EngineVersion=version, DBInstanceClass=instance_class
            )
            for page in pages:
                for option in page.get("OrderableDBInstanceOptions", []):
                    if option.get("DBInstanceClass", instance_class) != instance_class:
                        continue
                    zones_listed = [zone["Name"] for zone in option.get("AvailabilityZones", []) if "Name" in zone]
                    offered.update(zones_listed or [ANY_ZONE])
        except (ClientError, BotoCoreError) as error:
            code = error_code(error)
            skipped.append(f"DB instance classes: rds:DescribeOrderableDBInstanceOptions not read ({code})")
            return []
        offerings.append(DbOffering(engine, version, instance_class, zones, frozenset(offered), bool(deployed)))
    return offerings


def read_template(path: Path) -> dict[str, Any]:
    try:
        template: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the synthesized template {path}: {error} (run `make synth` first)") from error
    return template


def command_preflight(args: argparse.Namespace, clients: Clients) -> int:
    template = read_template(args.template)
    limits = dict(args.quota)
    deployed = Deployed(clients.cloudformation, args.suffix)
    results = checks(clients.cloudfront, deployed, template, args.suffix, limits)
    skipped: list[str] = []
    results += regional_checks(clients, deployed, template, args.suffix, limits, skipped)
    fargate = fargate_check(clients, deployed, template, limits, skipped)
    offerings = db_offerings(clients.rds, deployed, template, skipped)
    shown: list[Check | FargateCheck | DbOffering] = [*results, *([fargate] if fargate else []), *offerings]
    for check in shown:
        print(check.status + check.describe(args.suffix))
    for line in skipped:
        print("skipped  " + line)
    unoffered = [offering for offering in offerings if offering.refused]
    if unoffered:
        details = "; ".join(offering.describe(args.suffix) for offering in unoffered)
        raise QuotaError(
            f"{Names(args.suffix).stack} would create DB instances RDS does not offer, so it was not deployed: {details}. "
            "Choose another dbInstanceClass (--context dbInstanceClass=...) or engine version."
        )
    mismatched = [check for check in results if check.profile_change]
    if mismatched and not args.allow_profile_change:
        details = "; ".join(check.describe(args.suffix) for check in mismatched)
        raise QuotaError(
            f"{Names(args.suffix).stack} is deployed with another profile than this template's, so it was not deployed: "
            f"{details}. Pass the PROFILE it was first deployed with (make <target> SUFFIX={args.suffix} PROFILE=...; "
            f"without PROFILE, suffix {args.suffix} gets the {default_profile(args.suffix)} profile); "
            "to change its profile on purpose, pass --allow-profile-change (QUOTA_ARGS=--allow-profile-change)."
        )
    exceeded: list[Check | FargateCheck] = [check for check in results if check.exceeded]
    if fargate and fargate.exceeded:
        exceeded.append(fargate)
    if exceeded:
        details = "; ".join(check.describe(args.suffix) for check in exceeded)
        lean = (
            " A pull-request environment needs less with the lean profile (the default for a pr<N> suffix: drop "
            "PROFILE=production; any other suffix: make deploy PROFILE=lean): one NAT gateway, so one Elastic IP "
            "instead of three."
            if any(
                isinstance(check, Check) and check.quota.resource_type == "AWS::EC2::EIP" and check.planned > 1
                for check in exceeded
            )
            else ""
        )
        raise QuotaError(
            f"{Names(args.suffix).stack} would exceed {len(exceeded)} quota(s) it shares with the account's other "
            f"environments, so it was not deployed: {details}. Destroy an environment this account no longer needs "
            "(`make destroy SUFFIX=<env>`) or deploy into another account or region. If the account's quota was raised, "
            f"pass it: --quota TYPE=N (make deploy QUOTA_ARGS='--quota TYPE=N').{lean}"
        )
    return EXIT_OK


def command_capacity(args: argparse.Namespace) -> int:
    print(capacity(read_template(args.template)).describe())
    return EXIT_OK


# The boto3 service of each Clients field, in order.
CLIENT_SERVICES = ("cloudfront", "cloudformation", "ec2", "service-quotas", "sts", "rds", "cloudwatch")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="account_quotas.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    preflight = commands.add_parser("preflight", help="refuse a deploy that would exceed a quota shared by the environments")
    preflight.add_argument("--suffix", required=True, help="environment suffix of the stack, e.g. dev or pr123")
    preflight.add_argument("--region", default=REGION, help=f"AWS region (default {REGION})")
    preflight.add_argument("--template", type=Path, help="synthesized template (default cdk.out/TapStack<suffix>.template.json)")
    preflight.add_argument(
        "--quota",
        type=quota_override,
        action="append",
        default=[],
        metavar="TYPE=N",
        help="the account's raised quota for one type, e.g. KeyGroup=20 or EIP=10 (repeatable; wins over Service Quotas "
        "and AWS's defaults)",
    )
    preflight.add_argument(
        "--allow-profile-change",
        action="store_true",
        help="deploy a template whose network differs from the deployed environment's (a profile change on purpose)",
    )
    capacity_ = commands.add_parser("capacity", help="how many environments like the template one account holds in a region")
    capacity_.add_argument("--template", type=Path, required=True, help="synthesized template")
    args = parser.parse_args(argv)
    if args.command == "preflight":
        try:
            validate_suffix(args.suffix)
        except ConfigError as error:
            parser.error(str(error))
        if args.template is None:
            args.template = ROOT / "cdk.out" / f"{Names(args.suffix).stack}.template.json"
    return args


@exits_on({InputError: ("error", EXIT_INPUT), QuotaError: ("refused", EXIT_QUOTA), AwsError: ("AWS error", EXIT_AWS)})
def main(argv: Sequence[str] | None = None, *, clients: Clients | None = None) -> int:
    """Run one command. Tests pass stubbed clients; otherwise boto3 creates them."""
    args = parse_args(argv)
    if args.command == "capacity":
        return command_capacity(args)
    if clients is None:
        import boto3

        session = boto3.session.Session(region_name=args.region)
        clients = Clients(*(session.client(name) for name in CLIENT_SERVICES))
    return command_preflight(args, clients)


if __name__ == "__main__":
    sys.exit(main())
