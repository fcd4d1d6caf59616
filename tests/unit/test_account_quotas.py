"""lib/quotas.py: what one environment draws from the account-wide CloudFront quotas, and the README's figure."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from lib.quotas import ACCOUNT_QUOTAS, QUOTA_BY_TYPE, capacity, usage
from tests.unit.support import ROOT, Synthesized

CACHE_POLICY = "AWS::CloudFront::CachePolicy"
PUBLIC_KEY = "AWS::CloudFront::PublicKey"
KEY_GROUP = "AWS::CloudFront::KeyGroup"
README_FIGURE = re.compile(r"one account holds at most (\d+) environments\s+\(bound by ([^,)]+), (not adjustable|adjustable)\)")


def template(**counts: int) -> dict[str, Any]:
    """A hand-made template: `counts` maps a short type name (CachePolicy) to how many such resources it has."""
    resources = {
        f"{kind}{n}": {"Type": f"AWS::CloudFront::{kind}", "Properties": {}}
        for kind, count in counts.items()
        for n in range(count)
    }
    return {"Resources": {**resources, "Bucket": {"Type": "AWS::S3::Bucket"}}}


def readme_figure() -> tuple[int, str, str]:
    match = README_FIGURE.search(" ".join((ROOT / "README.md").read_text().split()))
    assert match, "the README's Deploy > Quotas bullet states how many environments one account holds"
    return int(match[1]), match[2], match[3]


def check_readme(template: dict[str, Any]) -> None:
    """The README's figure is the one `capacity` computes from the template."""
    computed = capacity(template)
    environments, quota_name, adjustable = readme_figure()
    binding = computed.binding[0]
    assert (environments, quota_name, adjustable) == (computed.environments, binding.name, binding.adjustable_text), (
        f"README says {environments} environments bound by {quota_name} ({adjustable}); the template gives {computed.describe()}"
    )


def test_every_quota_cites_an_aws_page_and_is_a_cloudfront_type() -> None:
    assert len(QUOTA_BY_TYPE) == len(ACCOUNT_QUOTAS)
    for quota in ACCOUNT_QUOTAS:
        assert quota.resource_type.startswith("AWS::CloudFront::") and quota.default > 0
        assert quota.source.startswith("https://docs.aws.amazon.com/")
    assert QUOTA_BY_TYPE[CACHE_POLICY].default == 20 and QUOTA_BY_TYPE[CACHE_POLICY].adjustable is False


def test_the_default_environment_uses_two_cache_policies_and_fits_ten_times(stack: Synthesized) -> None:
    """Assets and media use AWS's managed cache policies, which count against no quota; html and API keep their own."""
    used = usage(stack.json)
    assert used[CACHE_POLICY] == 2 and used[PUBLIC_KEY] == 1 and used[KEY_GROUP] == 1
    assert used["AWS::CloudFront::Function"] == 2 and used["AWS::CloudFront::OriginAccessControl"] == 2
    result = capacity(stack.json)
    assert result.environments == 10
    assert [quota.resource_type for quota in result.binding] == [CACHE_POLICY, KEY_GROUP, PUBLIC_KEY]


def test_two_key_generations_bind_on_public_keys(tuned: Synthesized) -> None:
    assert tuned.config.media_key_generations == (1, 2)
    result = capacity(tuned.json)
    assert usage(tuned.json)[PUBLIC_KEY] == 2
    assert result.environments == 5
    assert [quota.resource_type for quota in result.binding] == [PUBLIC_KEY]


def test_the_readme_states_the_computed_figure(stack: Synthesized) -> None:
    check_readme(stack.json)


def test_a_third_cache_policy_lowers_the_figure_and_the_readme_check_fails(stack: Synthesized) -> None:
    grown = copy.deepcopy(stack.json)
    grown["Resources"]["AnotherCache"] = {"Type": CACHE_POLICY, "Properties": {}}
    assert capacity(grown).environments == 6
    with pytest.raises(AssertionError, match="README says 10 environments"):
        check_readme(grown)


def test_capacity_of_hand_made_templates() -> None:
    assert capacity(template(CachePolicy=5)).environments == 4
    assert capacity(template(CachePolicy=1, KeyGroup=3)).environments == 3  # 10 // 3 key groups
    assert [q.name for q in capacity(template(KeyGroup=1, PublicKey=1)).binding] == [
        QUOTA_BY_TYPE["AWS::CloudFront::KeyGroup"].name,
        QUOTA_BY_TYPE[PUBLIC_KEY].name,
    ]
    assert "bound by Cache policies per AWS account (20, not adjustable)" in capacity(template(CachePolicy=4)).describe()


def test_a_template_without_cloudfront_resources_is_refused() -> None:
    with pytest.raises(ValueError, match="no resource that draws from an account-wide CloudFront quota"):
        capacity(template())


def test_the_stack_names_every_quotad_resource_so_a_redeploy_is_recognized(stack: Synthesized) -> None:
    """The preflight knows a redeploy by name; an unnamed resource would need the stack to exist instead."""
    from scripts.account_quotas import planned

    plan = planned(stack.json)
    assert all(p.unnamed == 0 for p in plan.values()), plan
    suffix = stack.config.environment_suffix
    assert all(name.endswith(f"-{suffix}") or name.startswith(f"TapStack{suffix}") for p in plan.values() for name in p.names)
