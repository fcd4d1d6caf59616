"""What the tasks run: images in the project's own ECR repositories, copied there by the stack itself."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from lib.images import COPY_MEMORY_MIB
from tests.unit.support import SUFFIX, TUNED, Synthesized
from tests.unit.test_lambda_runtimes import deprecated

WORKLOADS = ("frontend", "backend")
COPY_TYPE = "Custom::CDKECRDeployment"
BOOTSTRAP_ASSET_REPOSITORY = "cdk-hnb659fds-container-assets"

# Built from the app directories (default) and pulled by tag (tuned, which also carries a certificate).
VARIANTS: dict[str, dict[str, Any]] = {"default": {}, "tuned (imageTag)": TUNED}


def repositories(stack: Synthesized) -> dict[str, str]:
    """Logical id -> workload, for the project's repositories."""
    found = {}
    for key, resource in stack.of_type("AWS::ECR::Repository").items():
        name = resource["Properties"]["RepositoryName"]
        workload = name.removesuffix(f"-{SUFFIX}")
        assert workload in WORKLOADS, name
        found[key] = workload
    return found


def image_reference(image: Any) -> tuple[str, str]:
    """(repository logical id, tag) of a CloudFormation image expression built from an ECR repository."""
    assert isinstance(image, dict) and set(image) == {"Fn::Join"}, f"image is not built from a repository: {image}"
    _, parts = image["Fn::Join"]
    refs = [p["Ref"] for p in parts if isinstance(p, dict) and "Ref" in p and not p["Ref"].startswith("AWS::")]
    assert len(refs) == 1, f"image names no single repository: {image}"
    last = parts[-1]
    assert isinstance(last, str) and last.startswith(":"), f"image has no tag: {image}"
    return refs[0], last[1:]


def task_images(stack: Synthesized) -> list[tuple[str, str, Any]]:
    """(task family, container name, image expression) of every container of every task definition."""
    return [
        (task["Properties"]["Family"], container["Name"], container["Image"])
        for task in stack.of_type("AWS::ECS::TaskDefinition").values()
        for container in task["Properties"]["ContainerDefinitions"]
    ]


def copies(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return stack.of_type(COPY_TYPE)


def service_for(stack: Synthesized, family: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in stack.of_type("AWS::ECS::Service").items()
        if v["Properties"]["TaskDefinition"]["Ref"]
        in {tk for tk, t in stack.of_type("AWS::ECS::TaskDefinition").items() if t["Properties"]["Family"] == family}
    ]
    return found


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_container_image_is_in_the_project_repository_of_its_workload(synth: Any, variant: str) -> None:
    stack = synth(**VARIANTS[variant])
    repos = repositories(stack)
    images = task_images(stack)
    assert {name for _, name, _ in images} == set(WORKLOADS)
    for family, name, image in images:
        assert BOOTSTRAP_ASSET_REPOSITORY not in json.dumps(image), f"{family}/{name} runs a CDK asset image: {image}"
        repository, tag = image_reference(image)
        assert repos.get(repository) == name, f"{family}/{name} pulls from {repository}, not {name}-{SUFFIX}"
        assert tag, family


def test_each_built_image_is_copied_into_its_repository_under_its_content_hash(stack: Synthesized) -> None:
    built = {a["displayName"].split("/")[-1]: tag for tag, a in stack.asset_manifest()["dockerImages"].items()}
    assert set(built) == {"FrontendBuild", "BackendBuild"}
    found = copies(stack)
    assert len(found) == len(WORKLOADS), sorted(found)
    for family, name, image in task_images(stack):
        _, tag = image_reference(image)
        # Content-addressed: the tag is the asset hash of app/<workload>, the
        # same tag CDK publishes the build under in the bootstrap repository.
        assert tag == built[f"{name.capitalize()}Build"], family
        matching = [
            (key, props)
            for key, props in ((k, v["Properties"]) for k, v in found.items())
            if props["DestImage"] == {"Fn::Join": ["", ["docker://", *image["Fn::Join"][1]]]}
        ]
        assert len(matching) == 1, f"no copy lands {family}'s image {image}"
        key, props = matching[0]
        source = json.dumps(props["SrcImage"])
        assert BOOTSTRAP_ASSET_REPOSITORY in source and source.endswith(f':{tag}"}}]]}}'), source
        # One copy resource per hash: a rollback deletes the new one instead of
        # re-pushing the old tag, which an immutable repository would reject.
        assert tag[:12] in key, key


def test_services_start_only_after_their_image_is_copied(stack: Synthesized) -> None:
    for family, _name, image in task_images(stack):
        service_key, service = service_for(stack, family)
        destination = {"Fn::Join": ["", ["docker://", *image["Fn::Join"][1]]]}
        (copy_key,) = [k for k, v in copies(stack).items() if v["Properties"]["DestImage"] == destination]
        assert copy_key in service.get("DependsOn", []), f"{service_key} does not wait for {copy_key}"


def test_project_repositories_reject_tag_overwrites(stack: Synthesized) -> None:
    for key in repositories(stack):
        assert stack.resources[key]["Properties"]["ImageTagMutability"] == "IMMUTABLE"


def test_with_image_tag_nothing_is_built_or_copied(tuned: Synthesized) -> None:
    assert copies(tuned) == {}
    assert not tuned.asset_manifest().get("dockerImages")
    functions = tuned.of_type("AWS::Lambda::Function").values()
    assert not any(f["Properties"].get("Runtime", "").startswith("provided") for f in functions)
    for _family, _name, image in task_images(tuned):
        assert image_reference(image)[1] == TUNED["image_tag"]


def copy_function(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    tokens = {json.dumps(v["Properties"]["ServiceToken"]) for v in copies(stack).values()}
    assert len(tokens) == 1, "both copies share one handler"
    (function_key,) = [json.loads(t)["Fn::GetAtt"][0] for t in tokens]
    function = stack.resources[function_key]
    assert function["Type"] == "AWS::Lambda::Function"
    return function_key, function["Properties"]


def test_copy_function_runtime_memory_network_and_logs(stack: Synthesized) -> None:
    _, props = copy_function(stack)
    assert not deprecated({"copy": props["Runtime"]}, date.today())
    assert props["MemorySize"] == COPY_MEMORY_MIB
    assert "VpcConfig" not in props, "the copy talks only to ECR's public endpoints; it needs no VPC"
    group = stack.resources[props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Delete"


def test_copy_role_reads_the_asset_repository_and_writes_only_the_project_repositories(stack: Synthesized) -> None:
    _, props = copy_function(stack)
    role = props["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in stack.resources[role]["Properties"]
    statements = [
        s
        for policy in stack.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    push = {"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"}
    seen: set[str] = set()
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        seen.update(actions)
        resource = json.dumps(statement["Resource"])
        assert all(a.startswith(("ecr:", "logs:")) for a in actions), actions
        if statement["Resource"] == "*":
            assert actions == ["ecr:GetAuthorizationToken"], "only the token call may name every resource"
        elif push & set(actions):
            targets = {json.dumps(r) for r in statement["Resource"]}
            assert targets == {json.dumps({"Fn::GetAtt": [key, "Arn"]}) for key in repositories(stack)}, resource
        elif any(a.startswith("ecr:") for a in actions):
            assert BOOTSTRAP_ASSET_REPOSITORY in resource, resource
            assert not push & set(actions), "the asset repository is read only"
        else:
            assert resource == json.dumps({"Fn::GetAtt": [props["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]})
    assert push <= seen and "ecr:BatchGetImage" in seen
    assert not any(a.startswith("s3:") for a in seen)
