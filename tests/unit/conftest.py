"""Fixtures: one synthesis per configuration variant per test process, shared by every test.

Helpers and constants are in tests/unit/support.py. Under pytest-xdist (`make test-infra` runs
`-n 2 --dist loadscope`) the test modules that synthesize form one scope, so one worker builds
every variant once while the other takes the modules that need no synthesis.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.unit.support import LONGEST_SUFFIX, TUNED, Synthesized, synthesize

# The fixtures that synthesize a stack.
SYNTH_FIXTURES = frozenset({"synth", "stack", "tuned", "longest_suffix_stack"})
CDK_SCOPE = "synthesizing test modules"
ROOT = Path(__file__).resolve().parents[2]


@cache
def synthesizes(module: Path) -> bool:
    """Whether a test module reaches a synthesizing fixture: as a parameter, or by name (getfixturevalue, fixture params)."""
    tree = ast.parse(module.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.arg in SYNTH_FIXTURES:
            return True
        if isinstance(node, ast.Constant) and node.value in SYNTH_FIXTURES:
            return True
    return False


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` with every synthesizing module in a single scope (pytest-xdist's `loadgroup` cannot
    regroup tests under pytest 9, whose node ids no longer read the `_nodeid` it rewrites)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SynthesisScopes(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return CDK_SCOPE if synthesizes(ROOT / module) else module

    return SynthesisScopes(config, log)


@pytest.fixture(scope="session")
def synth() -> Callable[..., Synthesized]:
    """Synthesize a variant (config overrides as keywords), once per session."""
    return synthesize


@pytest.fixture(scope="session")
def stack() -> Synthesized:
    """The default configuration, as `make synth` builds it (with the test suffix)."""
    return synthesize()


@pytest.fixture(scope="session")
def tuned() -> Synthesized:
    """Every tunable setting changed at once (see TUNED), an ACM certificate on the ALB included."""
    return synthesize(**TUNED)


@pytest.fixture(scope="session")
def longest_suffix_stack() -> Synthesized:
    """The default configuration with the longest allowed environment suffix (every name at its longest)."""
    return synthesize(environment_suffix=LONGEST_SUFFIX)
