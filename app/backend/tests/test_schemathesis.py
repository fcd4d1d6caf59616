"""Property-based API run: no 5xx and every response matches openapi.yaml.

Uses schemathesis' Hypothesis strategies directly (its pytest fixture loader
does not support pytest 9 yet), with a fixed number of examples and a
derandomised seed so runs are repeatable.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
import schemathesis
import yaml
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import BACKEND

SCHEMA = schemathesis.openapi.from_path(BACKEND / "openapi.yaml")
OPERATIONS = [cast(Any, result).ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = 40
SPEC = yaml.safe_load((BACKEND / "openapi.yaml").read_text())


def has_inputs(operation: Any) -> bool:
    item = SPEC["paths"][operation.path]
    op = item[operation.method.lower()]
    return bool(item.get("parameters") or op.get("parameters") or op.get("requestBody"))


CASES = [
    pytest.param(op, mode, id=f"{op.label} {mode}")
    for op in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # Negative data needs something to break: skip operations without inputs.
    if mode is GenerationMode.POSITIVE or has_inputs(op)
]


def test_every_route_is_documented(app: Flask) -> None:
    documented = {op.path.replace("{id}", "<video_id>") for op in OPERATIONS}
    served = {r.rule for r in app.url_map.iter_rules() if r.endpoint != "static"}
    assert served == documented


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_api_conforms_to_openapi(app: Flask, operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(app=app, excluded_checks=excluded)

    # A cursor is opaque: a value of the documented shape that this API did
    # not issue is rejected with 400 by design, so "valid input accepted" does
    # not apply to listVideos. Every other check (no 5xx, status codes,
    # headers, bodies against the schema) still runs there.
    excluded = [positive_data_acceptance] if operation.path == "/api/videos" else []

    run()
