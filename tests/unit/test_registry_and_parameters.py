"""ECR repositories and the SSM parameters the backend receives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.support import SUFFIX, Synthesized


@pytest.mark.parametrize("workload", ["frontend", "backend"])
def test_repository_scans_keeps_ten_immutable_encrypted_and_destroyable(stack: Synthesized, workload: str) -> None:
    repositories = {
        k: v
        for k, v in stack.of_type("AWS::ECR::Repository").items()
        if v["Properties"]["RepositoryName"] == f"{workload}-{SUFFIX}"
    }
    assert len(repositories) == 1
    resource = next(iter(repositories.values()))
    props = resource["Properties"]
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    policy = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])
    (rule,) = policy["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}
    assert rule["action"] == {"type": "expire"}
    assert props["EmptyOnDelete"] is True
    assert resource["DeletionPolicy"] == "Delete"


def expected_parameters(cluster: str) -> dict[str, object]:
    """The default configuration's parameters; the endpoints are attributes of the Aurora cluster `cluster`."""
    return {
        "db/writer-endpoint": {"Fn::GetAtt": [cluster, "Endpoint.Address"]},
        "db/reader-endpoint": {"Fn::GetAtt": [cluster, "ReadEndpoint.Address"]},
        "db/name": "catalog",
        "db/port": "5432",
        "app/log-level": "INFO",
        "app/cache-max-age": "30",
    }


def parameters(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return {v["Properties"]["Name"]: v["Properties"] for v in stack.of_type("AWS::SSM::Parameter").values()}


def test_parameters_are_plain_strings_under_the_environment_prefix(stack: Synthesized) -> None:
    found = parameters(stack)
    for path, value in expected_parameters(stack.one("AWS::RDS::DBCluster")[0]).items():
        props = found[f"/tap/{SUFFIX}/{path}"]
        assert props["Type"] == "String"
        assert props["Value"] == value, path
    assert f"/tap/{SUFFIX}/app/cors-allowed-origins" in found
    assert all(name.startswith(f"/tap/{SUFFIX}/") for name in found)


def test_parameter_values_follow_config(tuned: Synthesized) -> None:
    found = parameters(tuned)
    assert found[f"/tap/{SUFFIX}/app/log-level"]["Value"] == "DEBUG"
    assert found[f"/tap/{SUFFIX}/app/cache-max-age"]["Value"] == "120"
