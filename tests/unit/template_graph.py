"""The creation order CloudFormation derives from a template: DependsOn plus every Ref, GetAtt and Sub reference."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> Iterator[str]:
    """Logical ids (or pseudo parameters) that `value` references through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                yield target
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                yield from _SUB_REFERENCE.findall(text)
                if isinstance(inner, list):
                    yield from references(inner[1])
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def direct_dependencies(resources: dict[str, dict[str, Any]], logical_id: str) -> set[str]:
    """What CloudFormation creates before `logical_id`: its DependsOn and the resources its properties reference."""
    resource = resources[logical_id]
    depends_on = resource.get("DependsOn", [])
    found = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    found |= set(references(resource.get("Properties", {})))
    return {d for d in found if d in resources}


def waits_for(resources: dict[str, dict[str, Any]], logical_id: str) -> set[str]:
    """Every resource that is complete before `logical_id` starts: the transitive closure of its dependencies."""
    seen: set[str] = set()
    pending = [logical_id]
    while pending:
        for dependency in direct_dependencies(resources, pending.pop()):
            if dependency not in seen:
                seen.add(dependency)
                pending.append(dependency)
    return seen
