"""Whole-stack properties: region, tags, naming, destroyability, cdk-nag and cfn-lint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit import cfn_lint
from tests.unit.cfn_lint import CfnLint
from tests.unit.support import SUFFIX, Synthesized, run_tap_main

ROOT = Path(__file__).resolve().parents[2]

# Properties that carry a resource's physical name.
NAME_PROPERTIES = (
    "Name",
    "GroupName",
    "LogGroupName",
    "RoleName",
    "ClusterName",
    "ServiceName",
    "Family",
    "DBClusterIdentifier",
    "DBInstanceIdentifier",
    "RepositoryName",
    "FunctionName",
    "TopicName",
    "DashboardName",
    "AlarmName",
    "SecretName",
    "BucketName",
    "UsagePlanName",
    "WebACLName",
    "DBClusterParameterGroupName",
    "DBSubnetGroupName",
)


def test_stack_is_pinned_to_ap_southeast_1(stack: Synthesized) -> None:
    assert stack.stack.region == "ap-southeast-1"
    assert stack.stack.stack_name == f"TapStack{SUFFIX}"


def test_every_tagged_resource_carries_suffix_project_and_managed_by(stack: Synthesized) -> None:
    tagged = {k: v for k, v in stack.resources.items() if isinstance(v.get("Properties", {}).get("Tags"), list)}
    assert len(tagged) > 20
    for key, resource in tagged.items():
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert tags.get("Environment") == SUFFIX, key
        assert tags.get("Project") == "media-streaming", key
        assert tags.get("ManagedBy") == "aws-cdk", key


# Properties that look like names but are not, per resource type.
NOT_NAMES = {"AWS::RDS::DBClusterParameterGroup": {"Family"}, "AWS::RDS::DBParameterGroup": {"Family"}}


def _names(resource: dict[str, Any]) -> list[str]:
    props = resource.get("Properties", {})
    skip = NOT_NAMES.get(resource["Type"], set())
    names = [props[p] for p in NAME_PROPERTIES if p not in skip and isinstance(props.get(p), str)]
    tags = props.get("Tags")
    if isinstance(tags, list):
        names += [t["Value"] for t in tags if t.get("Key") == "Name" and isinstance(t.get("Value"), str)]
    return names


def test_every_named_resource_carries_the_suffix(stack: Synthesized) -> None:
    named = {k: _names(v) for k, v in stack.resources.items() if _names(v)}
    assert len(named) > 10
    for key, names in named.items():
        for name in names:
            assert SUFFIX in name, f"{key} is named {name!r} without the suffix"


def test_every_resource_is_destroyable(stack: Synthesized) -> None:
    for key, resource in stack.resources.items():
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            assert resource.get(policy, "Delete") == "Delete", f"{key} has {policy} {resource.get(policy)}"
        props = resource.get("Properties", {})
        assert props.get("DeletionProtection") in (None, False), f"{key} has deletion protection"
        assert props.get("DeletionProtectionEnabled") in (None, False), f"{key} has deletion protection"
        attributes = props.get("LoadBalancerAttributes", [])
        assert {"Key": "deletion_protection.enabled", "Value": "true"} not in attributes, key


def test_cdk_nag_report_has_no_unacknowledged_finding(stack: Synthesized) -> None:
    # Template.from_stack in the fixture already raised on any error; this
    # checks that no warning-level finding is left unacknowledged either.
    from aws_cdk.assertions import Annotations

    warnings = Annotations.from_stack(stack.stack).find_warning("*", "*AwsSolutions*")
    assert warnings == []


def test_cfn_lint_reports_no_error_or_warning(stack: Synthesized, tmp_path: Path) -> None:
    result = stack.cfn_lint().result()
    assert result.returncode == 0, result.stdout + result.stderr
    # The pass is remembered (when pytest's cache is on): the same bytes are not linted again.
    if cfn_lint.CACHE_DIR is not None:
        again = CfnLint(stack.json, tmp_path / "again.json")
        assert again.cached and again.result().returncode == 0


def test_the_cfn_lint_run_fails_on_a_template_with_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run the lint tests await reports what cfn-lint finds (here E3002, a property the type does not have),
    and a failing run is never remembered: it runs and reports again next time."""
    monkeypatch.setattr(cfn_lint, "CACHE_DIR", tmp_path / "remembered")
    template = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}}
    lint = CfnLint(template, tmp_path / "broken.json")
    result = lint.result()
    assert not lint.cached
    assert result.returncode != 0 and "E3002" in result.stdout, result.stdout + result.stderr
    assert not (tmp_path / "remembered").exists()


def test_a_remembered_cfn_lint_pass_is_keyed_by_the_linter_its_schemas_settings_and_the_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    home.mkdir()
    (repo / ".cfnlintrc.yaml").write_text("regions:\n  - ap-southeast-1\n")
    monkeypatch.setattr(cfn_lint, "ROOT", repo)
    monkeypatch.setenv("HOME", str(home))
    text = '{"Resources": {}}'
    key = cfn_lint.cache_key(text)
    assert cfn_lint.cache_key(text) == key
    assert cfn_lint.cache_key(text.replace(" ", "")) != key  # the template's bytes
    with monkeypatch.context() as changed:
        changed.setattr(cfn_lint, "OPTIONS", ("--format", "json"))
        assert cfn_lint.cache_key(text) != key  # the command's options
    with monkeypatch.context() as changed:
        changed.setattr(cfn_lint, "version", lambda _: "0.0.1")
        assert cfn_lint.cache_key(text) != key  # the linter's version
    (home / ".cfnlintrc").write_text("ignore_checks:\n  - E3002\n")
    assert cfn_lint.cache_key(text) != key  # a user's own settings
    (home / ".cfnlintrc").unlink()
    assert cfn_lint.cache_key(text) == key
    (repo / ".cfnlintrc.yaml").write_text("regions:\n  - us-east-1\n")
    assert cfn_lint.cache_key(text) != key  # the repository's settings
    key = cfn_lint.cache_key(text)
    # Newer resource schemas in the user's cache (`cfn-lint --update-specs`), which cfn-lint would use instead.
    schemas = tmp_path / "xdg" / "aws" / "cfn-lint" / "schemas"
    schemas.mkdir(parents=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cfn_lint.cache_key(text) != key  # the cache's path
    key = cfn_lint.cache_key(text)
    (schemas / "version.json").write_text('{"schema_date": "2099-01-01T00:00:00Z"}')
    assert cfn_lint.cache_key(text) != key  # the cache's schema set


def test_bad_suffix_fails_synth_with_the_rule(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tap_main({"environmentSuffix": "Bad_Suffix"}, monkeypatch) != 0
    stderr = capsys.readouterr().err
    assert "Invalid environmentSuffix 'Bad_Suffix'" in stderr
    assert "lowercase letters, digits and hyphens" in stderr
