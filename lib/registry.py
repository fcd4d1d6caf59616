"""Container registries: one ECR repository per workload."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from lib.contract import Names

KEEP_IMAGES = 10


class Registry(Construct):
    """ECR repositories `frontend-<suffix>` and `backend-<suffix>`."""

    def __init__(self, scope: Construct, construct_id: str, *, names: Names) -> None:
        super().__init__(scope, construct_id)
        self.frontend = self._repository("Frontend", names("frontend"))
        self.backend = self._repository("Backend", names("backend"))

    def _repository(self, construct_id: str, name: str) -> ecr.Repository:
        return ecr.Repository(
            self,
            construct_id,
            repository_name=name,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            # KMS with the AWS managed key (aws/ecr): pulls need no key grants.
            encryption=ecr.RepositoryEncryption.KMS,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"Keep the last {KEEP_IMAGES} images",
                    max_image_count=KEEP_IMAGES,
                    rule_priority=1,
                )
            ],
            empty_on_delete=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
