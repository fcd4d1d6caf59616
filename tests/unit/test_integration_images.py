"""The deployed-stack check that running images come from the project repositories, against stubbed AWS answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from lib.contract import REGION
from tests.integration.harness import AwsClients, Outputs
from tests.integration.test_registry import test_running_image_is_a_scanned_image_of_the_project_repository as check
from tests.unit import stubs

REPO = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/backend-pr123"
ASSET = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-ap-southeast-1"
TAG = "f17392b7b90cef614cb242fae520486dd426478cab365235a5d377d323ce9dfc"
TASK_DEFINITION = "arn:aws:ecs:ap-southeast-1:123456789012:task-definition/backend-pr123:7"


@pytest.fixture
def outputs(tmp_path: Path) -> Outputs:
    path = tmp_path / "flat-outputs.json"
    path.write_text(
        json.dumps(
            {
                "BackendRepositoryUri": REPO,
                "FrontendRepositoryUri": REPO.replace("backend", "frontend"),
                "EcsClusterName": "ecs-cluster-pr123",
                "BackendServiceName": "backend-pr123",
                "FrontendServiceName": "frontend-pr123",
            }
        )
    )
    return Outputs(path)


class Clients(AwsClients):
    def __init__(self) -> None:
        super().__init__(lambda: REGION)
        self.clients = {name: stubs.client(name) for name in ("ecs", "ecr")}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def __call__(self, service: str) -> Any:
        return self.clients[service]


@pytest.fixture
def aws() -> Iterator[Clients]:
    clients = Clients()
    for stub in clients.stubs.values():
        stub.activate()
    yield clients
    for stub in clients.stubs.values():
        stub.deactivate()


def running(aws: Clients, image: str) -> None:
    ecs = aws.stubs["ecs"]
    ecs.add_response("describe_services", {"services": [{"serviceName": "backend-pr123", "taskDefinition": TASK_DEFINITION}]})
    ecs.add_response(
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "backend", "image": image}]}},
        {"taskDefinition": TASK_DEFINITION},
    )


def test_passes_for_a_scanned_image_of_the_project_repository(outputs: Outputs, aws: Clients) -> None:
    running(aws, f"{REPO}:{TAG}")
    aws.stubs["ecr"].add_response(
        "describe_images",
        {"imageDetails": [{"imageTags": [TAG], "imageScanStatus": {"status": "COMPLETE"}}]},
        {"repositoryName": "backend-pr123", "imageIds": [{"imageTag": TAG}]},
    )
    check("backend", outputs, aws)


def test_fails_for_an_image_of_the_cdk_asset_repository(outputs: Outputs, aws: Clients) -> None:
    running(aws, f"{ASSET}:{TAG}")
    with pytest.raises(AssertionError, match=f"runs .*cdk-hnb659fds-container-assets.*, expected {REPO}:<tag>"):
        check("backend", outputs, aws)


def test_fails_for_an_image_not_scanned(outputs: Outputs, aws: Clients) -> None:
    running(aws, f"{REPO}:{TAG}")
    aws.stubs["ecr"].add_response(
        "describe_images", {"imageDetails": [{"imageTags": [TAG], "imageScanStatus": {"status": "FAILED"}}]}
    )
    with pytest.raises(AssertionError, match="expected scan status in \\['ACTIVE', 'COMPLETE'\\], found 'FAILED'"):
        check("backend", outputs, aws)
