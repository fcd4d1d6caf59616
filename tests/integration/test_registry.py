"""ECR: every image is scanned on push and tags are immutable."""

from __future__ import annotations

import pytest

from tests.integration.harness import AwsClients, Outputs, aws_call, repository_name

REPOSITORIES = {"frontend": "FrontendRepositoryUri", "backend": "BackendRepositoryUri"}


@pytest.mark.parametrize("repository", list(REPOSITORIES))
def test_repository_scans_on_push_with_immutable_tags(repository: str, outputs: Outputs, aws: AwsClients) -> None:
    name = repository_name(outputs[REPOSITORIES[repository]])
    found = aws_call(aws("ecr"), "describe_repositories", repositoryNames=[name]).get("repositories", [])
    assert len(found) == 1, f"expected ECR repository {name}, found {[r.get('repositoryName') for r in found]}"
    repo = found[0]
    scan = repo.get("imageScanningConfiguration", {}).get("scanOnPush")
    mutability = repo.get("imageTagMutability")
    assert scan is True, f"ECR {name}: expected imageScanningConfiguration.scanOnPush true, found {scan!r}"
    assert mutability == "IMMUTABLE", f"ECR {name}: expected imageTagMutability IMMUTABLE, found {mutability!r}"
