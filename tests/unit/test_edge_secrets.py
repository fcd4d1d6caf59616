"""Edge secrets (origin-verify, web API key, blue/green test token): versioned, zero-downtime rotation.

CloudFormation resolves a `{{resolve:secretsmanager:...}}` reference again only when its text
changes. Every reference is therefore pinned to `edgeSecretVersion`, so a new version changes the
text of every consumer at once; during a switch (`edgeSecretPreviousVersion`) the receivers (ALB
rules, WAF) accept both values while the senders (CloudFront, API Gateway) send the new one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lib.config import ConfigError, from_context
from lib.contract import EDGE_SECRET_LENGTHS, EDGE_TEST_TRAFFIC_VALUE, INITIAL_EDGE_VERSION, TEST_TRAFFIC_HEADER
from tests.unit.support import SUFFIX, Synthesized, run_tap_main

ROOT = Path(__file__).resolve().parents[2]
V1 = "0b5e4c1a-7d2f-4e8b-9a61-3c2d1e0f9a11"
V2 = "6f1d2c3b-4a5e-4f70-8e9d-0a1b2c3d4e5f"
EDGE_SECRETS = tuple(f"{kind}-{SUFFIX}" for kind in EDGE_SECRET_LENGTHS)

# Every resource type that receives an edge-secret value at deploy time. A new
# consumer must be added here, so that it is checked to follow the pinned version.
CONSUMER_TYPES = {
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::CloudFront::Distribution",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::ApiKey",
    "AWS::WAFv2::WebACL",
}

# ALB quotas ("Quotas for your Application Load Balancers", Rules): condition
# values per rule 5; HttpHeaderConditionConfig: header name <= 40 characters,
# each value <= 128 characters.
ALB_CONDITION_VALUES_PER_RULE = 5
ALB_HEADER_NAME_MAX = 40
ALB_HEADER_VALUE_MAX = 128


# ---------------------------------------------------------------- variants and helpers


@pytest.fixture(scope="session")
def pinned(synth: Any) -> Synthesized:
    """After a rotation: every reference pinned to V1."""
    result: Synthesized = synth(edge_secret_version=V1)
    return result


@pytest.fixture(scope="session")
def switching(synth: Any) -> Iterator[Synthesized]:
    """The first rotation's switch: V1 is sent, the initial version is still accepted; its cfn-lint run starts now."""
    result: Synthesized = synth(edge_secret_version=V1, edge_secret_previous_version=INITIAL_EDGE_VERSION)
    result.cfn_lint()
    yield result
    result.cfn_lint().result()  # no run left behind when the lint test was not selected


def secret_ids(stack: Synthesized) -> dict[str, str]:
    """Edge-secret name -> logical id."""
    return {
        v["Properties"]["Name"]: k
        for k, v in stack.of_type("AWS::SecretsManager::Secret").items()
        if v["Properties"]["Name"] in EDGE_SECRETS
    }


def ref(stack: Synthesized, name: str, version: str | None, *, quoted: bool = False) -> dict[str, Any]:
    """The dynamic reference CDK writes for edge secret `name` at `version` (None: no version)."""
    q = "'" if quoted else ""
    return {
        "Fn::Join": [
            "",
            [f"{q}{{{{resolve:secretsmanager:", {"Ref": secret_ids(stack)[name]}, f":SecretString:::{version or ''}}}}}{q}"],
        ]
    }


def references(value: Any, stack: Synthesized) -> list[tuple[str, str]]:
    """(edge-secret name, version id or "") of every dynamic reference inside `value`."""
    names = {logical: name for name, logical in secret_ids(stack).items()}
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        join = value.get("Fn::Join")
        if join and any("{{resolve:secretsmanager:" in str(p) for p in join[1] if isinstance(p, str)):
            parts = join[1]
            secret = names.get(parts[1].get("Ref", "")) if isinstance(parts[1], dict) else None
            if secret:
                match = re.fullmatch(r":SecretString:::([^}]*)}}'?", parts[2])
                assert match, f"unexpected reference tail {parts[2]!r}"
                found.append((secret, match.group(1)))
                return found
        for item in value.values():
            found += references(item, stack)
    elif isinstance(value, list):
        for item in value:
            found += references(item, stack)
    return found


def consumers(stack: Synthesized) -> dict[str, list[tuple[str, str]]]:
    """Logical id -> edge-secret references in its properties, for every resource that has one."""
    found = {k: references(v.get("Properties", {}), stack) for k, v in stack.resources.items()}
    return {k: refs for k, refs in found.items() if refs}


def header_conditions(rule: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        c["HttpHeaderConfig"]["HttpHeaderName"]: c["HttpHeaderConfig"]["Values"]
        for c in rule["Properties"]["Conditions"]
        if c["Field"] == "http-header"
    }


def rules(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule")


def operator_rules(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in rules(stack).items() if TEST_TRAFFIC_HEADER in header_conditions(v)}


def web_keys(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        k: v for k, v in stack.of_type("AWS::ApiGateway::ApiKey").items() if v["Properties"]["Name"].startswith("api-key-web")
    }


def web_plan_keys(stack: Synthesized) -> list[str]:
    (plan,) = [
        k
        for k, v in stack.of_type("AWS::ApiGateway::UsagePlan").items()
        if v["Properties"]["UsagePlanName"] == f"usage-plan-web-{SUFFIX}"
    ]
    return sorted(
        v["Properties"]["KeyId"]["Ref"]
        for v in stack.of_type("AWS::ApiGateway::UsagePlanKey").values()
        if v["Properties"]["UsagePlanId"] == {"Ref": plan}
    )


def origin_headers(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """CloudFront origin id -> {header name (lower case): value}."""
    _, distribution = stack.one("AWS::CloudFront::Distribution")
    return {
        o["Id"]: {h["HeaderName"].lower(): h["HeaderValue"] for h in o.get("OriginCustomHeaders", [])}
        for o in distribution["Properties"]["DistributionConfig"]["Origins"]
    }


def verify_statements(stack: Synthesized) -> list[Any]:
    """The scope-down statements of the two WAF rate rules that tell CloudFront traffic from direct calls."""
    _, acl = stack.one("AWS::WAFv2::WebACL")
    by_name = {
        r["Name"]: r["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
        for r in acl["Properties"]["Rules"]
        if "RateBasedStatement" in r["Statement"]
    }
    return [by_name["per-ip-direct"]["NotStatement"]["Statement"], by_name["per-ip-via-cloudfront"]]


def byte_match(stack: Synthesized, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "ByteMatchStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": "x-origin-verify"}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": value,
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"edgeSecretVersion": "v2"}, "edgeSecretVersion must be a Secrets Manager version id of 32-64 lowercase"),
        ({"edgeSecretVersion": V1.upper()}, "edgeSecretVersion must be a Secrets Manager version id of 32-64 lowercase"),
        ({"edgeSecretVersion": V1 + ":AWSCURRENT"}, "edgeSecretVersion must be a Secrets Manager version id"),
        ({"edgeSecretVersion": "a" * 65}, "edgeSecretVersion must be a Secrets Manager version id"),
        ({"edgeSecretPreviousVersion": V1}, "edgeSecretPreviousVersion is only used while switching"),
        ({"edgeSecretVersion": V1, "edgeSecretPreviousVersion": V1}, "must differ from edgeSecretVersion"),
        ({"edgeSecretVersion": V1, "edgeSecretPreviousVersion": "AWSPREVIOUS"}, "must be 'initial' (the version the stack"),
    ],
)
def test_invalid_edge_secret_versions_fail_synth_with_what_is_allowed(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_context(values.get, {})


def test_edge_secret_versions_from_context() -> None:
    assert from_context(dict[str, str]().get, {}).edge_secret_versions == (None,)
    # `initial` is what the stack reports before the first rotation; it means "no version".
    assert from_context({"edgeSecretVersion": "initial"}.get, {}).edge_secret_versions == (None,)
    assert from_context({"edgeSecretVersion": V1}.get, {}).edge_secret_versions == (V1,)
    switching = from_context({"edgeSecretVersion": V2, "edgeSecretPreviousVersion": V1}.get, {})
    assert switching.edge_secret_versions == (V1, V2)
    first = from_context({"edgeSecretVersion": V1, "edgeSecretPreviousVersion": "initial"}.get, {})
    assert first.edge_secret_versions == (None, V1)


def test_generated_values_fit_alb_header_values_and_api_keys(stack: Synthesized) -> None:
    for name, logical in secret_ids(stack).items():
        generator = stack.resources[logical]["Properties"]["GenerateSecretString"]
        # Letters and digits only: `*` and `?` are wildcards in an ALB header condition.
        assert generator["ExcludePunctuation"] is True, name
        assert 20 <= generator["PasswordLength"] <= ALB_HEADER_VALUE_MAX, name


# ---------------------------------------------------------------- pinning


def test_every_consumer_is_known_and_references_the_initial_version_by_default(stack: Synthesized) -> None:
    found = consumers(stack)
    assert {stack.resources[k]["Type"] for k in found} == CONSUMER_TYPES
    assert {version for refs in found.values() for _, version in refs} == {""}
    assert {name for refs in found.values() for name, _ in refs} == set(EDGE_SECRETS)


def test_a_pinned_version_reaches_every_reference_of_every_consumer(pinned: Synthesized) -> None:
    found = consumers(pinned)
    assert {pinned.resources[k]["Type"] for k in found} == CONSUMER_TYPES
    unpinned = {k: refs for k, refs in found.items() if any(version != V1 for _, version in refs)}
    assert unpinned == {}, f"references not pinned to {V1}: {unpinned}"


def test_two_versions_differ_in_every_consumer(stack: Synthesized, pinned: Synthesized) -> None:
    """A new version changes the text of every consumer, so CloudFormation resolves each one again."""
    before, after = consumers(stack), consumers(pinned)
    for logical in before:
        if logical in after:
            assert stack.resources[logical] != pinned.resources[logical], f"{logical} does not change with the version"
        else:
            # Only the web API key is a new resource (its value is create-only).
            assert stack.resources[logical]["Type"] == "AWS::ApiGateway::ApiKey", logical


def test_the_api_gateway_deployment_is_new_for_a_new_version(stack: Synthesized, pinned: Synthesized) -> None:
    # The stage serves a deployment's snapshot of the methods: a changed header needs a new deployment.
    (before,) = stack.of_type("AWS::ApiGateway::Deployment")
    (after,) = pinned.of_type("AWS::ApiGateway::Deployment")
    assert before != after
    (stage,) = pinned.of_type("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["DeploymentId"] == {"Ref": after}


def test_a_new_web_key_has_its_own_name_and_is_the_one_cloudfront_sends(stack: Synthesized, pinned: Synthesized) -> None:
    ((initial_id, initial),) = web_keys(stack).items()
    ((key_id, key),) = web_keys(pinned).items()
    assert initial["Properties"]["Name"] == f"api-key-web-{SUFFIX}"
    # A named key cannot be replaced under the same name (AWS::ApiGateway::ApiKey Name).
    assert key["Properties"]["Name"] == f"api-key-web-{V1}-{SUFFIX}"
    assert key_id != initial_id
    assert key["Properties"]["Value"] == ref(pinned, f"api-key-web-{SUFFIX}", V1)
    api_origin = next(h for h in origin_headers(pinned).values() if "x-api-key" in h)
    assert api_origin["x-api-key"] == key["Properties"]["Value"]
    assert web_plan_keys(pinned) == [key_id]


# ---------------------------------------------------------------- the switch


def test_during_a_switch_every_alb_rule_accepts_the_previous_and_the_new_origin_secret(switching: Synthesized) -> None:
    name = f"origin-verify-{SUFFIX}"
    expected = [ref(switching, name, None), ref(switching, name, V1)]
    assert len(rules(switching)) == 4
    for logical, rule in rules(switching).items():
        assert header_conditions(rule)["X-Origin-Verify"] == expected, logical


def test_during_a_switch_the_test_rules_accept_both_operator_tokens(switching: Synthesized) -> None:
    name = f"blue-green-test-{SUFFIX}"
    expected = [ref(switching, name, None), ref(switching, name, V1)]
    assert len(operator_rules(switching)) == 2
    for logical, rule in operator_rules(switching).items():
        assert header_conditions(rule)[TEST_TRAFFIC_HEADER] == expected, logical


def test_during_a_switch_the_waf_counts_either_origin_secret_as_cloudfront_traffic(switching: Synthesized) -> None:
    name = f"origin-verify-{SUFFIX}"
    either = {"OrStatement": {"Statements": [byte_match(switching, ref(switching, name, v)) for v in (None, V1)]}}
    assert verify_statements(switching) == [either, either]


def test_outside_a_switch_the_waf_matches_the_one_pinned_value(pinned: Synthesized) -> None:
    only = byte_match(pinned, ref(pinned, f"origin-verify-{SUFFIX}", V1))
    assert verify_statements(pinned) == [only, only]


def test_during_a_switch_cloudfront_and_api_gateway_send_only_the_new_values(switching: Synthesized) -> None:
    verify_new = ref(switching, f"origin-verify-{SUFFIX}", V1)
    sent = [h for h in origin_headers(switching).values() if "x-origin-verify" in h]
    assert len(sent) == 2 and all(h["x-origin-verify"] == verify_new for h in sent)
    api = next(h for h in sent if "x-api-key" in h)
    assert api["x-api-key"] == ref(switching, f"api-key-web-{SUFFIX}", V1)
    quoted = ref(switching, f"origin-verify-{SUFFIX}", V1, quoted=True)
    for logical, method in switching.of_type("AWS::ApiGateway::Method").items():
        assert method["Properties"]["Integration"]["RequestParameters"]["integration.request.header.X-Origin-Verify"] == quoted, (
            logical
        )


def test_during_a_switch_both_web_keys_are_in_the_web_plan_unchanged(
    stack: Synthesized, switching: Synthesized, pinned: Synthesized
) -> None:
    keys = web_keys(switching)
    (initial_id,) = web_keys(stack)
    (new_id,) = web_keys(pinned)
    assert set(keys) == {initial_id, new_id}
    # The old key is exactly the one deployed before (no update, no replacement), the new one exactly
    # what stays after the switch: CloudFront's key is valid at every moment.
    assert keys[initial_id] == stack.resources[initial_id]
    assert keys[new_id] == pinned.resources[new_id]
    assert web_plan_keys(switching) == sorted([initial_id, new_id])


def test_receivers_are_updated_before_senders(switching: Synthesized) -> None:
    """CloudFormation updates a resource after those it depends on: new values are accepted before they are sent."""
    rule_ids = set(rules(switching))
    (acl,) = switching.of_type("AWS::WAFv2::WebACL")
    plan_keys = {k for k in switching.of_type("AWS::ApiGateway::UsagePlanKey") if "WebUsagePlan" in k}
    _, distribution = switching.one("AWS::CloudFront::Distribution")
    assert rule_ids | {acl} | plan_keys <= set(distribution.get("DependsOn", []))
    for logical, method in switching.of_type("AWS::ApiGateway::Method").items():
        assert rule_ids <= set(method.get("DependsOn", [])), logical


def test_alb_rules_stay_within_the_condition_quotas_during_a_switch(switching: Synthesized) -> None:
    for logical, rule in rules(switching).items():
        conditions = rule["Properties"]["Conditions"]
        values = sum(len(next(v for k, v in c.items() if k.endswith("Config"))["Values"]) for c in conditions)
        assert values <= ALB_CONDITION_VALUES_PER_RULE, f"{logical}: {values} condition values"
        assert all(len(name) <= ALB_HEADER_NAME_MAX for name in header_conditions(rule)), logical


# ---------------------------------------------------------------- the blue/green test route (operators only)


def test_the_test_rules_require_the_operator_token_from_secrets_manager(stack: Synthesized) -> None:
    token = ref(stack, f"blue-green-test-{SUFFIX}", None)
    verify = ref(stack, f"origin-verify-{SUFFIX}", None)
    found = operator_rules(stack)
    assert len(found) == 2
    for logical, rule in found.items():
        headers = header_conditions(rule)
        assert headers[TEST_TRAFFIC_HEADER] == [token], f"{logical}: {headers[TEST_TRAFFIC_HEADER]}"
        assert headers["X-Origin-Verify"] == [verify], logical


def test_cloudfront_overwrites_the_test_header_on_every_origin_that_reaches_the_alb(stack: Synthesized) -> None:
    # CloudFront replaces a viewer header of the same name with the origin custom header.
    with_verify = {o: h for o, h in origin_headers(stack).items() if "x-origin-verify" in h}
    assert len(with_verify) == 2  # the ALB and API Gateway
    for origin, headers in with_verify.items():
        assert headers.get(TEST_TRAFFIC_HEADER.lower()) == EDGE_TEST_TRAFFIC_VALUE, origin


def test_api_gateway_overwrites_the_test_header_on_every_integration(stack: Synthesized) -> None:
    methods = stack.of_type("AWS::ApiGateway::Method")
    assert len(methods) == 4
    for logical, method in methods.items():
        parameters = method["Properties"]["Integration"]["RequestParameters"]
        # A static value ('...') replaces whatever the caller sent.
        assert parameters.get(f"integration.request.header.{TEST_TRAFFIC_HEADER}") == f"'{EDGE_TEST_TRAFFIC_VALUE}'", logical


def test_the_value_the_edge_sends_is_not_one_the_test_rules_accept(stack: Synthesized) -> None:
    for logical, rule in operator_rules(stack).items():
        accepted = header_conditions(rule)[TEST_TRAFFIC_HEADER]
        assert all("{{resolve:secretsmanager:" in json.dumps(value) for value in accepted), logical
        assert EDGE_TEST_TRAFFIC_VALUE not in accepted, logical


def test_a_bad_version_fails_synth_with_the_rule(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tap_main({"edgeSecretVersion": "v2"}, monkeypatch) != 0
    stderr = capsys.readouterr().err
    assert "edgeSecretVersion must be a Secrets Manager version id of 32-64 lowercase letters" in stderr
    assert "got 'v2'" in stderr


def test_cfn_lint_accepts_the_switch(switching: Synthesized) -> None:
    result = switching.cfn_lint().result()
    assert result.returncode == 0, result.stdout + result.stderr
