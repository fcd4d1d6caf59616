"""Integration checks against a deployed TapStack<suffix>, driven by its flat outputs file.

Without the outputs file every check fails with the reason (the file's path and
how to create it): a pipeline whose outputs step went wrong must not go green
having checked nothing. With it, every problem is a failure too: a missing output
key, an unreachable endpoint, an AWS error. See tests/integration/README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import AwsClients, Http, Outputs, absent_outputs_reason, outputs_path, resolve_region

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def deployed() -> None:
    """Every check needs the deployed stack's outputs: without the file, each fails saying how to create it."""
    path = outputs_path(root=REPO_ROOT)
    if not path.is_file():
        pytest.fail(absent_outputs_reason(path), pytrace=False)


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
