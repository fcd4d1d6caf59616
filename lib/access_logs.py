"""The bucket that receives request logs of the load balancer and the CDN."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

LOG_RETENTION_DAYS = 30


class AccessLogs(Construct):
    """S3 bucket for ALB and CloudFront request logs, kept 30 days, destroyable."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            # ALB log delivery supports only SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # CloudFront standard logging needs ACLs enabled; the bucket owner still owns the objects.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(LOG_RETENTION_DAYS))],
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
