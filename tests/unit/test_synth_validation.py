"""`make synth` skips aws-cdk-lib's built-in CloudFormation validator for speed; the unit suite must still run it."""

from __future__ import annotations

import json

import pytest

from tests.unit.support import Synthesized


@pytest.mark.parametrize("variant", ["stack", "tuned"])
def test_the_builtin_cloudformation_validator_ran_and_passed(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())
    conclusions = {r["pluginName"]: r["conclusion"] for r in report["pluginReports"]}
    assert conclusions.get("CloudFormation Validate") == "success", conclusions
