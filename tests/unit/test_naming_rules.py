"""Every physical name in every synthesized variant obeys its service's documented rules.

Variants: the ones the other tests build, plus one with the longest suffix the
configuration allows (its limit is imported from lib/config.py, not restated).
"""

from __future__ import annotations

from typing import Any

import pytest

from lib.config import validate_suffix
from lib.contract import MAX_SUFFIX_LENGTH
from tests.unit.naming_rules import (
    NAME_RULES,
    SECRET_NAME,
    SECURITY_GROUP_NAME,
    is_not_a_name,
    is_reference,
    name_properties,
    values_at,
    worst_case,
)
from tests.unit.support import Synthesized

VARIANTS = ("stack", "tuned", "longest_suffix_stack")


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> Synthesized:
    synthesized: Synthesized = request.getfixturevalue(request.param)
    return synthesized


def _names(stack: Synthesized) -> list[tuple[str, str, str, str]]:
    """(logical id, resource type, property path, worst-case name) of every name the rule table covers."""
    found = []
    account = stack.config.account
    for key, resource in stack.resources.items():
        properties = resource.get("Properties", {})
        for path in NAME_RULES.get(resource["Type"], {}):
            for value in values_at(properties, path):
                if is_reference(value, stack.resources):
                    continue
                name = worst_case(
                    value,
                    resources=stack.resources,
                    stack_name=stack.stack.stack_name,
                    region=stack.config.region,
                    account=account,
                )
                found.append((key, resource["Type"], path, name))
    return found


def test_the_longest_suffix_variant_uses_the_configured_limit(longest_suffix_stack: Synthesized) -> None:
    suffix = longest_suffix_stack.config.environment_suffix
    assert len(suffix) == MAX_SUFFIX_LENGTH
    validate_suffix(suffix)


def unruled_names(resources: dict[str, dict[str, Any]]) -> set[str]:
    """Name-like properties that neither have a rule in NAME_RULES nor a reason in NOT_NAMES."""
    missing = set()
    for key, resource in resources.items():
        rules = NAME_RULES.get(resource["Type"], {})
        for path, _ in name_properties(resource.get("Properties", {})):
            if path not in rules and not is_not_a_name(resource["Type"], path):
                missing.add(f"{resource['Type']} {path} (e.g. {key})")
    return missing


def test_every_name_like_property_has_a_rule_or_a_reason(variant: Synthesized) -> None:
    """A new resource type (or a new name on a known one) fails here until its service's rule is added."""
    missing = unruled_names(variant.resources)
    assert not missing, "names without a naming rule (add the service's documented constraints to NAME_RULES):\n" + "\n".join(
        sorted(missing)
    )


def test_a_resource_type_without_a_rule_is_reported() -> None:
    resources = {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs-dev"}},
        "Alias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/jobs-dev"}},
    }
    assert unruled_names(resources) == {"AWS::SQS::Queue QueueName (e.g. Queue)"}


def test_every_physical_name_obeys_its_services_rules(variant: Synthesized) -> None:
    names = _names(variant)
    assert len(names) > 40
    broken = []
    for key, resource_type, path, name in names:
        rule = NAME_RULES[resource_type][path]
        for problem in rule.violations(name):
            broken.append(f"{resource_type} {key} {path} = {name!r}: {problem} ({rule.source})")
    assert not broken, "\n".join(broken)


def test_intrinsic_names_are_resolved_to_their_longest_form(stack: Synthesized) -> None:
    # The execution-log group is named from the REST API id: checked, not skipped.
    resolved = [
        name for _, t, _, name in _names(stack) if t == "AWS::Logs::LogGroup" and name.startswith("API-Gateway-Execution-Logs_")
    ]
    assert resolved == ["API-Gateway-Execution-Logs_a1b2c3d4e5/prod"]


@pytest.mark.parametrize(
    ("rule", "name", "problem"),
    [
        (SECURITY_GROUP_NAME, "sg-alb-dev", "reserved prefix 'sg-'"),
        (SECURITY_GROUP_NAME, "SG-alb-dev", "reserved prefix 'sg-'"),
        (SECURITY_GROUP_NAME, "alb|dev", "characters"),
        (SECRET_NAME, "origin-verify-pr1234", "reserved form"),
    ],
)
def test_rules_reject_what_the_service_rejects(rule: object, name: str, problem: str) -> None:
    from tests.unit.naming_rules import Rule

    assert isinstance(rule, Rule)
    assert any(problem in v for v in rule.violations(name)), rule.violations(name)


def test_rules_accept_the_documented_examples() -> None:
    from tests.unit import naming_rules as r

    assert r.SECURITY_GROUP_NAME.violations("alb-sg-dev") == []
    assert r.RDS_IDENTIFIER.violations("my-cluster1") == []
    assert r.RDS_IDENTIFIER.violations("my--cluster") != []
    assert r.LOAD_BALANCER_NAME.violations("internal-alb") != []
    assert r.KMS_ALIAS_NAME.violations("alias/aws/ebs") != []
    assert r.SSM_PARAMETER_NAME.violations("/Dev/DBServer/MySQL/db-string13") == []
    assert r.SSM_PARAMETER_NAME.violations("/aws/reserved") != []
