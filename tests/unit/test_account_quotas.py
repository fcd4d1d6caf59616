"""lib/quotas.py: what one environment draws from the quotas it shares with the account's other environments
(CloudFront's per account, the network's per region), and the README's figures."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from lib.quotas import ACCOUNT_QUOTAS, QUOTA_BY_TYPE, QUOTAS, REGIONAL_QUOTAS, capacity, usage
from tests.unit.support import ROOT, Synthesized, lean_overrides

CACHE_POLICY = "AWS::CloudFront::CachePolicy"
PUBLIC_KEY = "AWS::CloudFront::PublicKey"
KEY_GROUP = "AWS::CloudFront::KeyGroup"
EIP, VPC, IGW, NAT = "AWS::EC2::EIP", "AWS::EC2::VPC", "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway"
BOUND = r"\(bound by ([^,)]+), (not adjustable|adjustable)"
# The README's Deploy > Quotas bullet: per region for each profile, and CloudFront's figure for the account.
README_FIGURES = {
    "production": re.compile(r"one account holds at most (\d+) environments? of the production profile per region " + BOUND),
    "lean": re.compile(r"and (\d+) of the lean profile " + BOUND),
    "cloudfront": re.compile(r"CloudFront's per-account quotas allow (\d+) environments in all regions together " + BOUND),
}


def template(**counts: int) -> dict[str, Any]:
    """A hand-made template: `counts` maps a short type name (CachePolicy) to how many such resources it has."""
    resources = {
        f"{kind}{n}": {"Type": f"AWS::CloudFront::{kind}", "Properties": {}}
        for kind, count in counts.items()
        for n in range(count)
    }
    return {"Resources": {**resources, "Bucket": {"Type": "AWS::S3::Bucket"}}}


def readme_figure(figure: str) -> tuple[int, str, str]:
    match = README_FIGURES[figure].search(" ".join((ROOT / "README.md").read_text().split()))
    assert match, f"the README's Deploy > Quotas bullet states how many environments one account holds ({figure})"
    return int(match[1]), match[2], match[3]


def check_readme(template: dict[str, Any], figure: str) -> None:
    """The README's figure is the one `capacity` computes from the template."""
    computed = capacity(template, ACCOUNT_QUOTAS if figure == "cloudfront" else QUOTAS)
    environments, quota_name, adjustable = readme_figure(figure)
    binding = computed.binding[0]
    assert (environments, quota_name, adjustable) == (computed.environments, binding.name, binding.adjustable_text), (
        f"README says {environments} environments bound by {quota_name} ({adjustable}); the template gives {computed.describe()}"
    )


@pytest.fixture(scope="module")
def lean(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**lean_overrides())


def test_every_quota_cites_an_aws_page_and_has_its_scope() -> None:
    assert len(QUOTA_BY_TYPE) == len(QUOTAS) == len(ACCOUNT_QUOTAS) + len(REGIONAL_QUOTAS)
    for quota in QUOTAS:
        assert quota.default > quota.reserved >= 0
        assert quota.source.startswith("https://docs.aws.amazon.com/")
    assert all(q.resource_type.startswith("AWS::CloudFront::") and q.scope == "account" for q in ACCOUNT_QUOTAS)
    # The preflight reads the applied value of every per-region quota from Service Quotas.
    assert all(
        q.resource_type.split("::")[1] in ("EC2", "RDS") and q.scope in ("region", "zone") and q.quota_code
        for q in REGIONAL_QUOTAS
    )
    assert [q.resource_type for q in REGIONAL_QUOTAS if q.scope == "zone"] == [NAT]
    assert QUOTA_BY_TYPE[CACHE_POLICY].default == 20 and QUOTA_BY_TYPE[CACHE_POLICY].adjustable is False
    # A default account's default VPC holds one VPC and one internet gateway of each region.
    assert (QUOTA_BY_TYPE[VPC].reserved, QUOTA_BY_TYPE[IGW].reserved, QUOTA_BY_TYPE[EIP].reserved) == (1, 1, 0)


def test_the_default_environment_uses_two_cache_policies_and_fits_ten_times(stack: Synthesized) -> None:
    """Assets and media use AWS's managed cache policies, which count against no quota; html and API keep their own."""
    used = usage(stack.json)
    assert used[CACHE_POLICY] == 2 and used[PUBLIC_KEY] == 1 and used[KEY_GROUP] == 1
    assert used["AWS::CloudFront::Function"] == 2 and used["AWS::CloudFront::OriginAccessControl"] == 2
    result = capacity(stack.json, ACCOUNT_QUOTAS)
    assert result.environments == 10
    assert [quota.resource_type for quota in result.binding] == [CACHE_POLICY, KEY_GROUP, PUBLIC_KEY]


def test_a_production_environment_holds_three_of_the_regions_five_elastic_ips(stack: Synthesized) -> None:
    """One NAT gateway per AZ, each with an Elastic IP: a second production environment does not fit a region."""
    used = usage(stack.json)
    assert (used[VPC], used[IGW], used[EIP]) == (1, 1, 3)
    assert len(stack.of_type("AWS::EC2::NatGateway")) == used[EIP]
    result = capacity(stack.json)
    assert result.environments == 1
    assert [quota.resource_type for quota in result.binding] == [EIP]
    assert result.describe().startswith("1 environments per account and region, bound by EC2-VPC Elastic IPs (5, adjustable)")


def test_lean_environments_are_bound_by_vpcs_and_internet_gateways(lean: Synthesized) -> None:
    used = usage(lean.json)
    assert (used[VPC], used[IGW], used[EIP]) == (1, 1, 1)
    result = capacity(lean.json)
    assert result.environments == 4  # 5 VPCs per region, one of them the default VPC
    assert [quota.resource_type for quota in result.binding] == [VPC, IGW]


def test_two_key_generations_bind_on_public_keys(tuned: Synthesized) -> None:
    assert tuned.config.media_key_generations == (1, 2)
    result = capacity(tuned.json, ACCOUNT_QUOTAS)
    assert usage(tuned.json)[PUBLIC_KEY] == 2
    assert result.environments == 5
    assert [quota.resource_type for quota in result.binding] == [PUBLIC_KEY]


def test_the_readme_states_the_computed_figures(stack: Synthesized, lean: Synthesized) -> None:
    check_readme(stack.json, "production")
    check_readme(lean.json, "lean")
    check_readme(stack.json, "cloudfront")


def test_a_third_cache_policy_lowers_the_figure_and_the_readme_check_fails(stack: Synthesized) -> None:
    grown = copy.deepcopy(stack.json)
    grown["Resources"]["AnotherCache"] = {"Type": CACHE_POLICY, "Properties": {}}
    assert capacity(grown, ACCOUNT_QUOTAS).environments == 6
    with pytest.raises(AssertionError, match="README says 10 environments"):
        check_readme(grown, "cloudfront")


def test_a_second_nat_gateway_in_lean_lowers_its_figure_and_the_readme_check_fails(lean: Synthesized) -> None:
    grown = copy.deepcopy(lean.json)
    grown["Resources"]["AnotherEip"] = {"Type": EIP, "Properties": {}}
    assert capacity(grown).environments == 2
    with pytest.raises(AssertionError, match="README says 4 environments"):
        check_readme(grown, "lean")


def test_capacity_of_hand_made_templates() -> None:
    assert capacity(template(CachePolicy=5)).environments == 4
    assert capacity(template(CachePolicy=1, KeyGroup=3)).environments == 3  # 10 // 3 key groups
    assert [q.name for q in capacity(template(KeyGroup=1, PublicKey=1)).binding] == [
        QUOTA_BY_TYPE["AWS::CloudFront::KeyGroup"].name,
        QUOTA_BY_TYPE[PUBLIC_KEY].name,
    ]
    assert (
        "per account, bound by Cache policies per AWS account (20, not adjustable)"
        in capacity(template(CachePolicy=4)).describe()
    )
    network = {"Vpc": {"Type": VPC}, "Igw": {"Type": IGW}, **{f"Eip{n}": {"Type": EIP} for n in range(2)}}
    both = {"Resources": {**template(CachePolicy=2)["Resources"], **network}}
    # (5 - the default VPC's) // 1 VPC = 4; 5 // 2 Elastic IPs = 2; 20 // 2 cache policies = 10.
    assert capacity(both).environments == 2 and capacity(both, ACCOUNT_QUOTAS).environments == 10


def test_a_template_without_cloudfront_resources_is_refused() -> None:
    with pytest.raises(ValueError, match="no resource that draws from a shared quota"):
        capacity(template())


def test_the_stack_names_every_quotad_resource_so_a_redeploy_is_recognized(stack: Synthesized) -> None:
    """The preflight knows a redeploy by name; an unnamed resource would need the stack to exist instead."""
    from scripts.account_quotas import planned

    plan = planned(stack.json)
    assert all(p.unnamed == 0 for p in plan.values()), plan
    suffix = stack.config.environment_suffix
    assert all(name.endswith(f"-{suffix}") or name.startswith(f"TapStack{suffix}") for p in plan.values() for name in p.names)


def test_every_network_resource_the_preflight_counts_carries_the_environment_and_project_tags(stack: Synthesized) -> None:
    """The preflight tells whose a VPC, internet gateway or Elastic IP is by these two tags (scripts/account_quotas.py)."""
    from scripts.account_quotas import template_tags

    for quota in REGIONAL_QUOTAS:
        resources = stack.of_type(quota.resource_type)
        assert resources, quota.resource_type
        for resource in resources.values():
            tags = {tag["Key"]: tag["Value"] for tag in resource["Properties"]["Tags"]}
            assert (tags["Environment"], tags["Project"]) == (stack.config.environment_suffix, stack.config.project)
        assert template_tags(stack.json, quota.resource_type)["Environment"] == stack.config.environment_suffix


def test_nat_gateways_count_in_their_busiest_zone(stack: Synthesized, lean: Synthesized) -> None:
    """Production: one NAT gateway in each of the three zones; lean: its one in the first zone. Both use 1 of a zone's 5."""
    from lib.quotas import per_zone

    zones = stack.config.availability_zones
    assert per_zone(stack.json, NAT) == dict.fromkeys(zones, 1)
    assert per_zone(lean.json, NAT) == {zones[0]: 1}
    assert usage(stack.json)[NAT] == usage(lean.json)[NAT] == 1
    # A template that placed two in one zone would use two of that zone's quota.
    doubled = copy.deepcopy(lean.json)
    nat_id, nat = next((k, v) for k, v in doubled["Resources"].items() if v["Type"] == NAT)
    doubled["Resources"][nat_id + "Twin"] = copy.deepcopy(nat)
    assert usage(doubled)[NAT] == 2


@pytest.mark.parametrize("variant", ["stack", "lean", "tuned"])
def test_the_fargate_vcpu_an_environment_runs_follows_its_configuration(variant: str, request: pytest.FixtureRequest) -> None:
    """Both services at their minimum at rest and at their maximum; a blue/green release doubles either."""
    from lib.quotas import FargateNeed, fargate_vcpu

    synthesized: Synthesized = request.getfixturevalue(variant)
    config = synthesized.config
    per_task = (config.backend.cpu + config.frontend.cpu) / 1024
    rest = config.min_tasks * per_task
    need = fargate_vcpu(synthesized.json)
    assert need == FargateNeed(rest, config.max_tasks * per_task)
    assert (need.release, need.release_at_maximum) == (2 * rest, 2 * config.max_tasks * per_task)


def test_the_readme_gives_the_production_fargate_need(stack: Synthesized) -> None:
    from lib.quotas import fargate_vcpu

    need = fargate_vcpu(stack.json)
    text = " ".join((ROOT / "README.md").read_text().split())
    assert (
        f"a production environment runs about {need.rest:g} vCPU at rest, {need.maximum:g} at maximum scale, and twice "
        f"either during a blue/green release ({need.release:g} from rest, {need.release_at_maximum:g} under full load"
    ) in text


def test_the_readme_gives_the_lean_fargate_need_and_what_a_region_of_six_vcpu_holds(
    stack: Synthesized, lean: Synthesized
) -> None:
    from lib.quotas import FARGATE_VCPU, fargate_vcpu

    production, one_lean = fargate_vcpu(stack.json), fargate_vcpu(lean.json)
    at_rest = production.rest + 4 * one_lean.rest
    # The README's example: at the new-account quota, a release of any of those environments no longer fits.
    assert at_rest <= FARGATE_VCPU.default < at_rest + min(production.rest, one_lean.rest)
    text = " ".join((ROOT / "README.md").read_text().split())
    assert (
        f"A lean environment runs {one_lean.rest:g} vCPU at rest and {one_lean.maximum:g} at maximum: at a quota of "
        f"{FARGATE_VCPU.default}, one production and four lean environments at rest run {at_rest:g}, and the next release "
        "of any of them does not fit."
    ) in text


@pytest.mark.parametrize("variant", ["stack", "lean"])
def test_the_preflight_reads_each_db_instance_class_with_its_engine_version_and_zones(
    variant: str, request: pytest.FixtureRequest
) -> None:
    """What scripts/account_quotas.py asks RDS about (describe_orderable_db_instance_options), read from the
    synthesized template: the configured class with the cluster's engine version, in the writer's and reader's zones."""
    from lib.contract import AVAILABILITY_ZONES
    from lib.database import ENGINE_VERSION
    from scripts.account_quotas import template_db_instances

    synthesized: Synthesized = request.getfixturevalue(variant)
    key = ("aurora-postgresql", ENGINE_VERSION.aurora_postgres_full_version, f"db.{synthesized.config.db_instance_class}")
    assert template_db_instances(synthesized.json) == {key: AVAILABILITY_ZONES[:2]}


def test_a_fargate_service_whose_task_definition_is_not_in_the_template_is_refused_by_name() -> None:
    from lib.quotas import fargate_vcpu

    service = {
        "LaunchType": "FARGATE",
        "DesiredCount": 2,
        "TaskDefinition": "arn:aws:ecs:ap-southeast-1:123456789012:task-definition/x:1",
    }
    template = {"Resources": {"Api": {"Type": "AWS::ECS::Service", "Properties": service}}}
    with pytest.raises(ValueError, match=r"Api: TaskDefinition is not a Ref to a task definition of the template: 'arn:aws:ecs"):
        fargate_vcpu(template)
