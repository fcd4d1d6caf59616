"""ECR: every image is scanned on push, tags are immutable, and what runs comes from these repositories."""

from __future__ import annotations

import pytest

from lib.contract import Output
from tests.integration.harness import AwsClients, CheckFailed, Outputs, aws_call, repository_name

REPOSITORIES = {"frontend": Output.FRONTEND_REPOSITORY_URI, "backend": Output.BACKEND_REPOSITORY_URI}
SERVICES = {"frontend": Output.FRONTEND_SERVICE_NAME, "backend": Output.BACKEND_SERVICE_NAME}
# Basic scanning ends in COMPLETE; enhanced scanning keeps an image ACTIVE.
SCANNED = {"COMPLETE", "ACTIVE"}


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


@pytest.mark.parametrize("workload", list(REPOSITORIES))
def test_running_image_is_a_scanned_image_of_the_project_repository(workload: str, outputs: Outputs, aws: AwsClients) -> None:
    uri = outputs[REPOSITORIES[workload]]
    name = repository_name(uri)
    cluster, service = outputs[Output.ECS_CLUSTER_NAME], outputs[SERVICES[workload]]
    services = aws_call(aws("ecs"), "describe_services", cluster=cluster, services=[service]).get("services", [])
    if len(services) != 1:
        raise CheckFailed(f"ECS cluster {cluster}: expected service {service}, found {[s.get('serviceName') for s in services]}")
    task_definition = services[0]["taskDefinition"]
    described = aws_call(aws("ecs"), "describe_task_definition", taskDefinition=task_definition)
    images = [c["image"] for c in described["taskDefinition"]["containerDefinitions"]]
    assert images and all(i.startswith(f"{uri}:") for i in images), f"{task_definition} runs {images}, expected {uri}:<tag>"
    tag = images[0].rpartition(":")[2]
    details = aws_call(aws("ecr"), "describe_images", repositoryName=name, imageIds=[{"imageTag": tag}]).get("imageDetails", [])
    assert len(details) == 1, f"ECR {name}: expected one image tagged {tag}, found {len(details)}"
    status = details[0].get("imageScanStatus", {}).get("status")
    assert status in SCANNED, f"ECR {name}:{tag}: expected scan status in {sorted(SCANNED)}, found {status!r}"
