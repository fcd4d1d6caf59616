"""Fixtures: one synthesis per configuration variant per test process, shared by every test.

Helpers and constants are in tests/unit/support.py, which only the fixtures import: the xdist controller
runs no test and loads this file without importing aws-cdk-lib (and starting a jsii kernel). Under
pytest-xdist (`make test-infra` runs `-n 2 --dist loadscope`) the tests that synthesize form one scope,
so one worker builds every variant once while the other takes the tests that need no synthesis (module
by module).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.unit.support import Synthesized

# The fixtures that synthesize a stack, and what a test that builds a CDK app of its own calls.
SYNTH_FIXTURES = frozenset({"synth", "stack", "tuned", "longest_suffix_stack"})
CDK_APP_NAMES = frozenset({"App", "Template", "build_app", "build_account_setup"})
CDK_SCOPE = "synthesizing test modules"
ROOT = Path(__file__).resolve().parents[2]


@cache
def synthesizing_tests(module: Path) -> frozenset[str]:
    """The test functions of a module that synthesize: they reach a synthesizing fixture (as a parameter,
    through a fixture or helper of the module, or by name: request.getfixturevalue, fixture params,
    parametrize lists, module constants) or build a CDK app of their own."""
    tree = ast.parse(module.read_text())
    constants = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}

    def names_in(node: ast.AST) -> tuple[set[str], set[str]]:
        """(fixture names: parameters and strings, referenced names: variables, attributes, functions)."""
        fixtures: set[str] = set()
        referenced: set[str] = set()
        for child in ast.walk(node):
            if isinstance(child, ast.arg):
                fixtures.add(child.arg)
            elif isinstance(child, ast.Constant) and isinstance(child.value, str):
                fixtures.add(child.value)
            elif isinstance(child, ast.Attribute):
                referenced.add(child.attr)
            elif isinstance(child, ast.Name):
                referenced.add(child.id)
                if child.id in constants:
                    fixtures |= names_in(constants[child.id])[0]
        return fixtures, referenced

    def reaches(name: str, seen: frozenset[str]) -> bool:
        fixtures, referenced = names_in(functions[name])
        if fixtures & SYNTH_FIXTURES or referenced & CDK_APP_NAMES:
            return True
        return any(reaches(other, seen | {name}) for other in (fixtures | referenced) & functions.keys() - seen - {name})

    return frozenset(name for name in functions if name.startswith("test_") and reaches(name, frozenset()))


def pytest_configure(config: pytest.Config) -> None:
    """cfn-lint passes are remembered in pytest's cache (tests/unit/cfn_lint.py); `-p no:cacheprovider`
    remembers nothing."""
    if getattr(config, "cache", None) is not None:
        from tests.unit import cfn_lint

        cfn_lint.CACHE_DIR = config.cache.mkdir("cfn-lint")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that await a cfn-lint run started by a fixture (test_cfn_lint_*) go last, so the run has the
    longest head start (their fixtures are session-scoped: moving them rebuilds nothing)."""
    items.sort(key=lambda item: item.name.startswith("test_cfn_lint"))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` with every synthesizing test in a single scope (pytest-xdist's `loadgroup` cannot
    regroup tests under pytest 9, whose node ids no longer read the `_nodeid` it rewrites)."""
    if config.getvalue("dist") != "loadscope":
        return None
    # Scopes in collection order, not largest first: the synthesis scope starts with the first module
    # (test_account_setup) and the other worker takes that module's slow `python tap.py` test at once,
    # instead of leaving it to whichever worker frees up last.
    config.option.loadscopereorder = False
    from xdist.scheduler import LoadScopeScheduling

    class SynthesisScopes(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module, _, test = nodeid.partition("::")
            return CDK_SCOPE if test.split("[", 1)[0] in synthesizing_tests(ROOT / module) else module

    return SynthesisScopes(config, log)


@pytest.fixture(scope="session")
def synth() -> Callable[..., Synthesized]:
    """Synthesize a variant (config overrides as keywords), once per session."""
    from tests.unit.support import synthesize

    return synthesize


@pytest.fixture(scope="session")
def stack() -> Iterator[Synthesized]:
    """The default configuration, as `make synth` builds it (with the test suffix); its cfn-lint run starts now."""
    from tests.unit.support import synthesize

    synthesized = synthesize()
    synthesized.cfn_lint()
    yield synthesized
    synthesized.cfn_lint().result()  # no run left behind when the lint test was not selected


@pytest.fixture(scope="session")
def tuned() -> Synthesized:
    """Every tunable setting changed at once (see TUNED), an ACM certificate on the ALB included."""
    from tests.unit.support import TUNED, synthesize

    return synthesize(**TUNED)


@pytest.fixture(scope="session")
def longest_suffix_stack() -> Synthesized:
    """The default configuration with the longest allowed environment suffix (every name at its longest) and
    a blue/green live context (see LONGEST_SUFFIX_VARIANT)."""
    from tests.unit.support import LONGEST_SUFFIX_VARIANT, synthesize

    return synthesize(**LONGEST_SUFFIX_VARIANT)
