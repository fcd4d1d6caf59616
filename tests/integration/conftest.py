"""Integration checks against a deployed TapStack<suffix>, driven by its flat outputs file.

Without the outputs file every check is skipped with the reason (the file's path
and how to create it). With it, every problem is a failure: a missing output key,
an unreachable endpoint, an AWS error. See tests/integration/README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import AwsClients, Http, Outputs, absent_outputs_reason, outputs_path, resolve_region

REPO_ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = outputs_path(root=REPO_ROOT)
    if path.is_file():
        return
    skip = pytest.mark.skip(reason=absent_outputs_reason(path))
    for item in items:
        if INTEGRATION_DIR in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def outputs() -> Outputs:
    """The stack outputs (read on first access, so a broken file fails the checks)."""
    return Outputs(outputs_path(root=REPO_ROOT))


@pytest.fixture(scope="session")
def aws(outputs: Outputs) -> AwsClients:
    """`aws("ecs")` → a boto3 client in the stack's region."""
    return AwsClients(lambda: resolve_region(outputs))


@pytest.fixture(scope="session")
def http() -> Iterator[Http]:
    session = Http()
    yield session
    session.close()
