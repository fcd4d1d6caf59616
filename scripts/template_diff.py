#!/usr/bin/env python3
"""What a deploy of one synthesized template over another would do, resource by resource, offline.

    python scripts/template_diff.py OLD.template.json NEW.template.json [--fail-on-stateful]
    make template-diff BASE=main      # synthesizes BASE and the working tree, then compares

Like `cdk diff`, without an account: each resource is added, removed, modified in place,
or replaced. A change is a replacement when it touches a create-only property of the type
(the CloudFormation resource schemas that cfn-lint ships, for this platform's region); a
resource whose logical id changes is removed and added, which is a replacement too.
Replacing or removing a stateful resource (data, keys, secrets, logs, images) loses what it
holds; replacing a resource with a fixed name fails, because CloudFormation creates the new
one before it deletes the old one and the name is still taken. Exit 1 with
--fail-on-stateful when either would happen.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.contract import REGION  # noqa: E402  (the repository root is put on the path first)

# Resource types whose replacement or removal loses data the platform keeps.
STATEFUL_TYPES = frozenset(
    {
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::ECR::Repository",
    }
)
# Properties that carry a physical name end like this (BucketName, DBClusterIdentifier, Family...).
NAME_SUFFIXES = ("Name", "Identifier", "Family")
# Types whose replacement takes the same name without a clash (a task definition is a new revision of its family).
NAME_REUSED = frozenset({"AWS::ECS::TaskDefinition"})
EXIT_OK = 0
EXIT_STATEFUL = 1
EXIT_INPUT = 2


@dataclass(frozen=True)
class Change:
    logical_id: str
    resource_type: str
    action: str  # add, remove, modify, replace
    properties: tuple[str, ...] = ()
    named: bool = False  # has a fixed physical name

    @property
    def loses_state(self) -> bool:
        return self.resource_type in STATEFUL_TYPES and self.action in ("remove", "replace")

    @property
    def name_clash(self) -> bool:
        """A replacement of a named resource: the new one cannot take the name the old one still holds."""
        return self.action == "replace" and self.named


def create_only_properties(resource_type: str) -> frozenset[str]:
    """Top-level properties whose change replaces a resource of `resource_type` (empty when unknown)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    except Exception:
        return frozenset()
    paths = schema.get("createOnlyProperties", [])
    return frozenset(path.split("/")[2] for path in paths if path.startswith("/properties/"))


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    before: Mapping[str, Any] = old.get("Resources", {})
    after: Mapping[str, Any] = new.get("Resources", {})
    changes = [Change(key, before[key]["Type"], "remove") for key in before if key not in after]
    changes += [Change(key, after[key]["Type"], "add") for key in after if key not in before]
    for key in before.keys() & after.keys():
        was, now = before[key], after[key]
        if was == now:
            continue
        if was["Type"] != now["Type"]:
            changes.append(Change(key, now["Type"], "replace", ("Type",)))
            continue
        props_was, props_now = was.get("Properties", {}), now.get("Properties", {})
        changed = tuple(sorted(p for p in props_was.keys() | props_now.keys() if props_was.get(p) != props_now.get(p)))
        replaced = set(changed) & create_only_properties(now["Type"])
        named = now["Type"] not in NAME_REUSED and any(
            p.endswith(NAME_SUFFIXES) and isinstance(props_now[p], str) for p in props_now
        )
        attributes = tuple(sorted(a for a in was.keys() | now.keys() if a != "Properties" and was.get(a) != now.get(a)))
        changes.append(Change(key, now["Type"], "replace" if replaced else "modify", changed + attributes, named))
    return sorted(changes, key=lambda c: (c.action, c.resource_type, c.logical_id))


def report(changes: Sequence[Change]) -> str:
    if not changes:
        return "no resource changes"
    lines = []
    for change in changes:
        marks = (" [LOSES STATE]" if change.loses_state else "") + (" [NAME CLASH]" if change.name_clash else "")
        detail = f" ({', '.join(change.properties)})" if change.properties else ""
        lines.append(f"{change.action:8} {change.resource_type:45} {change.logical_id}{detail}{marks}")
    counts = {action: sum(c.action == action for c in changes) for action in ("add", "remove", "modify", "replace")}
    lines.append(", ".join(f"{n} {action}" for action, n in counts.items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument(
        "--fail-on-stateful",
        action="store_true",
        help="exit 1 if a stateful resource is replaced or removed, or a named resource replaced",
    )
    args = parser.parse_args(argv)
    try:
        old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    changes = diff(old, new)
    print(report(changes))
    outputs_old, outputs_new = set(old.get("Outputs", {})), set(new.get("Outputs", {}))
    for key in sorted(outputs_old - outputs_new):
        print(f"output removed: {key}")
    for key in sorted(outputs_new - outputs_old):
        print(f"output added: {key}")
    if args.fail_on_stateful and any(change.loses_state or change.name_clash for change in changes):
        return EXIT_STATEFUL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
