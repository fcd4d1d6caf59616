"""Every policy document of the template: no `*` action, and every `*` resource on an Allow has a written reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from tests.unit.support import Synthesized


class Allowance(NamedTuple):
    """Where an Allow on every resource is accepted, and why it cannot be narrower."""

    resource_types: frozenset[str]
    reason: str


IAM_POLICIES = frozenset({"AWS::IAM::Policy"})
KEY_POLICY = frozenset({"AWS::KMS::Key"})

# (the statement's set of actions) -> where and why `Resource: "*"` is unavoidable.
# Add an entry only for a statement the template really contains (a test below
# fails on stale entries), and only with a reason a reviewer would accept.
WILDCARD_RESOURCE_ALLOWED: dict[frozenset[str], Allowance] = {
    frozenset({"ecr:GetAuthorizationToken"}): Allowance(
        IAM_POLICIES,
        "ECS task execution roles: ecr:GetAuthorizationToken has no resource-level permissions (the token is "
        "account-wide); image pulls themselves are scoped to the repositories.",
    ),
    frozenset(
        {
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
        }
    ): Allowance(
        IAM_POLICIES,
        "ECS blue/green traffic-shift roles: elasticloadbalancing:Describe* actions support no resource-level "
        "permissions; the writes (ModifyRule, Register/DeregisterTargets) are scoped to the service's rules and groups.",
    ),
    frozenset({"kms:*"}): Allowance(
        KEY_POLICY,
        "The default key policy: the account root may administer the key, so IAM policies can grant its use and "
        "the key never becomes unmanageable. In a key policy, Resource '*' means this key only.",
    ),
    frozenset({"kms:Decrypt", "kms:GenerateDataKey*"}): Allowance(
        KEY_POLICY,
        "CloudWatch publishing alarm notifications into the KMS-encrypted alarms topic (the statement AWS "
        "documents; the publish grant carries the aws:Source* scoping); in a key policy, Resource '*' means this key only.",
    ),
}

FORBIDDEN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess")


class Statement(NamedTuple):
    resource: str  # logical id of the resource that holds the document
    resource_type: str
    document: str  # which document of that resource
    body: dict[str, Any]


def documents(stack: Synthesized) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(logical id, type, document name, policy document) for every policy document in the template."""
    for key, resource in stack.resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield key, kind, "PolicyDocument", props["PolicyDocument"]
        elif kind == "AWS::IAM::Role":
            yield key, kind, "AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"]
            for inline in props.get("Policies", []):
                yield key, kind, f"Policies[{inline['PolicyName']}]", inline["PolicyDocument"]
        elif kind == "AWS::KMS::Key":
            yield key, kind, "KeyPolicy", props["KeyPolicy"]
        elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            yield key, kind, "PolicyDocument", props["PolicyDocument"]
        elif kind == "AWS::SecretsManager::ResourcePolicy":
            yield key, kind, "ResourcePolicy", props["ResourcePolicy"]
        elif kind == "AWS::Logs::ResourcePolicy":
            # A JSON string in CloudFormation (CDK may leave it as an object).
            document = props["PolicyDocument"]
            yield key, kind, "PolicyDocument", json.loads(document) if isinstance(document, str) else document


def statements(stack: Synthesized) -> list[Statement]:
    found = []
    for key, kind, name, document in documents(stack):
        body = document["Statement"]
        for statement in body if isinstance(body, list) else [body]:
            found.append(Statement(key, kind, name, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(statement: dict[str, Any]) -> frozenset[str]:
    return frozenset(as_list(statement.get("Action", [])))


def on_every_resource(statement: dict[str, Any]) -> bool:
    return "*" in as_list(statement.get("Resource", []))


def service_wide(statement: dict[str, Any]) -> list[str]:
    """Actions of the form `service:*` (every action of a service)."""
    return sorted(a for a in actions(statement) if isinstance(a, str) and a.endswith(":*"))


def describe(statement: Statement) -> str:
    return f"{statement.resource} ({statement.resource_type} {statement.document}) actions {sorted(actions(statement.body))}"


@pytest.fixture(scope="module", params=["stack", "tuned"])
def variant(request: pytest.FixtureRequest) -> Synthesized:
    found: Synthesized = request.getfixturevalue(request.param)
    return found


def _documents_anywhere(value: Any) -> Iterator[dict[str, Any]]:
    """Every policy document under `value`, however deep, found by its shape (statements with an Effect)."""
    if isinstance(value, dict):
        body = as_list(value.get("Statement", []))
        if body and all(isinstance(statement, dict) and "Effect" in statement for statement in body):
            yield value
        for child in value.values():
            yield from _documents_anywhere(child)
    elif isinstance(value, list):
        for child in value:
            yield from _documents_anywhere(child)


def test_the_walk_covers_every_policy_document_in_the_template(variant: Synthesized) -> None:
    walked = {(key, json.dumps(document, sort_keys=True)) for key, _, _, document in documents(variant)}
    everywhere = {
        (key, json.dumps(document, sort_keys=True))
        for key, resource in variant.resources.items()
        for document in _documents_anywhere(resource.get("Properties", {}))
    }
    missed = sorted(f"{key} ({variant.resources[key]['Type']})" for key, _ in everywhere - walked)
    assert not missed, f"policy documents the IAM checks do not walk: {missed}"
    kinds = {s.resource_type for s in statements(variant)}
    assert {"AWS::IAM::Policy", "AWS::IAM::Role", "AWS::KMS::Key", "AWS::S3::BucketPolicy"} <= kinds


def test_no_statement_grants_or_denies_action_star(variant: Synthesized) -> None:
    offending = [describe(s) for s in statements(variant) if "*" in actions(s.body)]
    assert not offending, "statements with Action '*':\n" + "\n".join(offending)


def test_no_allow_uses_not_action_or_not_resource(variant: Synthesized) -> None:
    # An Allow with NotAction/NotResource grants everything but a list: a '*' in disguise.
    offending = [
        describe(s)
        for s in statements(variant)
        if s.body["Effect"] == "Allow" and ("NotAction" in s.body or "NotResource" in s.body)
    ]
    assert not offending, "Allow statements with NotAction/NotResource:\n" + "\n".join(offending)


def test_every_allow_on_every_resource_or_a_whole_service_has_a_written_reason(variant: Synthesized) -> None:
    unlisted = []
    for s in statements(variant):
        if s.body["Effect"] != "Allow" or not (on_every_resource(s.body) or service_wide(s.body)):
            continue
        allowance = WILDCARD_RESOURCE_ALLOWED.get(actions(s.body))
        if allowance is None or s.resource_type not in allowance.resource_types:
            unlisted.append(describe(s) + f" on Resource {json.dumps(s.body.get('Resource'))}")
    assert not unlisted, (
        "Allow statements on Resource '*' (or with service:* actions) that WILDCARD_RESOURCE_ALLOWED does not list "
        "with a reason:\n" + "\n".join(unlisted)
    )


def test_every_listed_wildcard_is_still_in_the_template(stack: Synthesized, tuned: Synthesized) -> None:
    present = {
        actions(s.body)
        for variant in (stack, tuned)
        for s in statements(variant)
        if s.body["Effect"] == "Allow" and on_every_resource(s.body)
    }
    stale = [sorted(key) for key in WILDCARD_RESOURCE_ALLOWED if key not in present]
    assert not stale, f"WILDCARD_RESOURCE_ALLOWED lists statements the template no longer has: {stale}"


@pytest.mark.parametrize("key", list(WILDCARD_RESOURCE_ALLOWED), ids=lambda k: ",".join(sorted(k)))
def test_every_listed_wildcard_has_a_real_reason(key: frozenset[str]) -> None:
    reason = WILDCARD_RESOURCE_ALLOWED[key].reason
    assert len(reason) >= 60 and "todo" not in reason.lower(), reason


def test_key_policies_grant_services_only_under_a_condition_or_on_a_dedicated_key(stack: Synthesized) -> None:
    """Beyond the root statement: Secrets Manager only via the service; CloudWatch (the statement AWS documents for
    alarms publishing to an encrypted topic, which carries no condition: test_alarm_delivery.py) only on keys that
    encrypt nothing but SNS topics, so the grant reaches no other data."""
    grants = [
        s
        for s in statements(stack)
        if s.resource_type == "AWS::KMS::Key" and s.body["Effect"] == "Allow" and actions(s.body) != {"kms:*"}
    ]
    assert grants, "no key policy grants a service anything: nothing to check"
    for s in grants:
        if s.body.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}:
            users = {
                resource["Type"]
                for resource in stack.resources.values()
                if resource["Type"] != "AWS::KMS::Alias" and f'"{s.resource}"' in json.dumps(resource.get("Properties", {}))
            }
            assert users == {"AWS::SNS::Topic"}, f"{describe(s)}: the key is also used by {users - {'AWS::SNS::Topic'}}"
        else:
            condition = s.body["Condition"]["StringEquals"]
            assert condition["kms:ViaService"] == "secretsmanager.ap-southeast-1.amazonaws.com", describe(s)


def test_no_role_has_administrator_or_power_user_access(variant: Synthesized) -> None:
    for key, resource in variant.resources.items():
        arns = json.dumps(resource.get("Properties", {}).get("ManagedPolicyArns", []))
        for name in FORBIDDEN_MANAGED_POLICIES:
            assert f"policy/{name}" not in arns, f"{key} ({resource['Type']}) has {name}"
    for s in statements(variant):
        # Not attached through a managed or customer policy either.
        assert not any(name in json.dumps(s.body) for name in FORBIDDEN_MANAGED_POLICIES), describe(s)
