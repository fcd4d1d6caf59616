"""scripts/template_diff.py tells modifications from replacements, and flags lost state and name clashes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from scripts import template_diff as td

BUCKET: dict[str, Any] = {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "a", "Value": "1"}]}}
SERVICE: dict[str, Any] = {"Type": "AWS::ECS::Service", "Properties": {"ServiceName": "backend-dev", "DesiredCount": 2}}
OLD: dict[str, Any] = {"Resources": {"Media": BUCKET, "Service": SERVICE}, "Outputs": {"Url": {"Value": "x"}}}


def changed(edit: Any) -> dict[str, Any]:
    new = copy.deepcopy(OLD)
    edit(new)
    return new


def test_identical_templates_have_no_changes() -> None:
    assert td.diff(OLD, copy.deepcopy(OLD)) == []


def test_a_mutable_property_is_modified_in_place() -> None:
    new = changed(lambda t: t["Resources"]["Service"]["Properties"].update(DesiredCount=3))
    assert td.diff(OLD, new) == [td.Change("Service", "AWS::ECS::Service", "modify", ("DesiredCount",), named=True)]


def test_a_create_only_property_replaces_and_a_named_replacement_clashes() -> None:
    new = changed(lambda t: t["Resources"]["Service"]["Properties"].update(ServiceName="api-dev"))
    [change] = td.diff(OLD, new)
    assert change.action == "replace" and change.name_clash and not change.loses_state


def test_a_new_logical_id_for_a_bucket_loses_its_objects() -> None:
    new = changed(lambda t: t["Resources"].update(Media2=t["Resources"].pop("Media")))
    actions = {(c.logical_id, c.action, c.loses_state) for c in td.diff(OLD, new)}
    assert actions == {("Media", "remove", True), ("Media2", "add", False)}


def test_a_dependency_change_is_reported() -> None:
    new = changed(lambda t: t["Resources"]["Service"].update(DependsOn=["Media"]))
    assert td.diff(OLD, new)[0].properties == ("DependsOn",)


@pytest.mark.parametrize(("edit", "code"), [(lambda t: None, 0), (lambda t: t["Resources"].pop("Media"), 1)])
def test_the_command_fails_only_when_state_would_be_lost(tmp_path: Path, edit: Any, code: int) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(OLD))
    new.write_text(json.dumps(changed(edit)))
    assert td.main([str(old), str(new), "--fail-on-stateful"]) == code
    assert td.main([str(old), str(tmp_path / "missing.json")]) == td.EXIT_INPUT
