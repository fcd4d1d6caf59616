"""What the tasks run: images in the project's own ECR repositories, on every deploy.

Without `imageTag`, each workload's image is built from `app/<workload>` as a CDK
asset (published by `cdk deploy` to the bootstrap repository) and then copied by
`cdk-ecr-deployment` into `<workload>-<suffix>` under the asset hash as its tag.
The tag is content-addressed: an unchanged image keeps its tag, so nothing is
copied again, and a changed one gets a new tag, so an immutable tag is never
overwritten. The task definitions name that repository and tag, never the
bootstrap repository, so scan-on-push, immutable tags and keep-last-10 apply to
what runs.

With `imageTag`, nothing is built or copied: the tasks run that tag, which must
already be in both repositories (pushed by a pipeline, or an earlier deploy's
asset hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_ecr_deployment import DockerImageName, ECRDeployment
from constructs import Construct, IDependable

from lib.contract import Names
from lib.log_groups import log_group
from lib.nag import acknowledge

APP_DIR = Path(__file__).resolve().parent.parent / "app"
# The copy streams layers registry to registry; Lambda's CPU share grows with
# memory, and the function runs only when an image changed.
COPY_MEMORY_MIB = 1024


@dataclass(frozen=True)
class ReleasedImage:
    """The image a workload's task runs, and what must finish before a service may start it."""

    image: ecs.ContainerImage
    repository: ecr.IRepository
    tag: str
    # The copy into the project repository; None when an existing tag is deployed.
    copy: IDependable | None


class Images(Construct):
    """Puts each workload's image into its project repository and says which tag to run."""

    def __init__(self, scope: Construct, construct_id: str, *, names: Names, image_tag: str | None) -> None:
        """`image_tag`: a tag already pushed to the project repositories, else each app directory is built."""
        super().__init__(scope, construct_id)
        self.names = names
        self.image_tag = image_tag
        self._role: iam.Role | None = None
        self.copy_log_group: logs.LogGroup | None = None

    def release(self, workload: str, repository: ecr.IRepository) -> ReleasedImage:
        """The image of `workload` in `repository`: the configured tag, else the app directory's build."""
        if self.image_tag:
            tag = self.image_tag
            return ReleasedImage(ecs.ContainerImage.from_ecr_repository(repository, tag=tag), repository, tag, None)

        title = workload.capitalize()
        asset = ecr_assets.DockerImageAsset(
            self,
            f"{title}Build",
            directory=str(APP_DIR / workload),
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        tag = asset.asset_hash
        role = self._copy_role()
        asset.repository.grant_pull(role)
        repository.grant_pull_push(role)
        # One copy resource per content hash: a new image is a new resource
        # (Create), and a rollback deletes it instead of sending an Update that
        # would push the previous tag again (which an immutable repository rejects).
        copy = ECRDeployment(
            self,
            f"{title}Copy{tag[:12]}",
            src=DockerImageName(asset.image_uri),
            dest=DockerImageName(repository.repository_uri_for_tag(tag)),
            # The construct's own role would get ecr:* and s3:GetObject on "*";
            # this one is scoped to the two repositories of each copy.
            role=role.without_policy_updates(),
            memory_limit=COPY_MEMORY_MIB,
        )
        self._give_copy_function_its_log_group(copy, role)
        return ReleasedImage(ecs.ContainerImage.from_ecr_repository(repository, tag=tag), repository, tag, copy)

    def _copy_role(self) -> iam.Role:
        if self._role is None:
            self._role = iam.Role(
                self,
                "CopyRole",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"Copies built images into the {self.names.suffix} project repositories",
            )
            acknowledge(
                self._role,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions (it is account-wide by design); "
                "layer and manifest reads are scoped to the CDK asset repository, writes to this environment's "
                "frontend and backend repositories.",
            )
        return self._role

    def _give_copy_function_its_log_group(self, copy: ECRDeployment, role: iam.Role) -> None:
        """The handler is one function shared by every copy: give it one 30-day, destroyable log group."""
        if self.copy_log_group is not None:
            return
        singleton = copy.node.find_child("CustomResourceHandler")
        assert isinstance(singleton, lambda_.SingletonFunction)
        # A SingletonFunction creates its function at stack scope, under `construct_name`.
        function = Stack.of(self).node.find_child(singleton.construct_name)
        # With @aws-cdk/aws-lambda:useCdkManagedLogGroup, aws-cdk-lib adds a
        # /aws/lambda/<name> group kept two years and retained on delete; the
        # function logs to the group below instead, so that one is dropped.
        function.node.try_remove_child("LogGroup")
        handler = function.node.default_child
        assert isinstance(handler, lambda_.CfnFunction)
        self.copy_log_group = log_group(self, "CopyLogs")
        handler.logging_config = lambda_.CfnFunction.LoggingConfigProperty(log_group=self.copy_log_group.log_group_name)
        self.copy_log_group.grant_write(role)
