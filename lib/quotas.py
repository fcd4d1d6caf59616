"""Account-wide CloudFront quotas an environment draws from: plain facts, no CDK.

CloudFront is global, so every environment (`TapStack<suffix>`) of one AWS account draws its cache
policies, response headers policies, functions, key groups, public keys, origin access controls and
distribution from the same per-account quotas. `capacity()` counts one synthesized template's use of
each and says how many environments one account holds; `scripts/account_quotas.py preflight` checks
a deploy against what the account already has; the README's figure is tested against `capacity()`.

Every value below was read in AWS's documentation (URLs in `source`); `adjustable` is None where
the source does not say. The two pages disagree on one point: the General Reference's service
quotas table says cache policies are not adjustable, while the Developer Guide links a Service
Quotas request (L-7D134442); the table's "No" is what this module records.
"""

from __future__ import annotations

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
QUOTA_BY_TYPE = {quota.resource_type: quota for quota in ACCOUNT_QUOTAS}


def usage(template: Mapping[str, Any]) -> dict[str, int]:
    """How many resources of each quota'd type `template` (a synthesized CloudFormation template) creates."""
    counts = dict.fromkeys(QUOTA_BY_TYPE, 0)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") in counts:
            counts[resource["Type"]] += 1
    return counts


@dataclass(frozen=True)
class Capacity:
    """How many environments like the template fit in one account, and the quotas that set that figure."""

    environments: int
    binding: tuple[Quota, ...]

    def describe(self) -> str:
        names = " and ".join(f"{quota.name} ({quota.default}, {quota.adjustable_text})" for quota in self.binding)
        return f"{self.environments} environments per account, bound by {names}"


def capacity(template: Mapping[str, Any]) -> Capacity:
    """min over the quotas of quota // use; the quotas that reach that minimum bind."""
    used = {kind: count for kind, count in usage(template).items() if count}
    if not used:
        raise ValueError("the template creates no resource that draws from an account-wide CloudFront quota")
    fits = {kind: QUOTA_BY_TYPE[kind].default // count for kind, count in used.items()}
    least = min(fits.values())
    return Capacity(least, tuple(QUOTA_BY_TYPE[kind] for kind, fit in fits.items() if fit == least))
