"""The bucket that receives request logs of the load balancer and the CDN."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

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

    def emptied_after(self, *acl_writers: IConstruct) -> None:
        """The bucket is emptied only once these writers are deleted.

        CloudFront's standard logs are written through the bucket ACL, not its policy, and
        may arrive late (up to 24 hours, CloudFront Developer Guide, "Standard logging
        reference"). On stack deletion the auto-delete custom resource denies writes in the
        bucket policy and empties the bucket; the policy (and its deny) goes next, and the
        bucket waits for the distribution, which takes minutes to delete. A log file landing
        in that gap failed the deletion with BucketNotEmpty (aws/aws-cdk#16332). Deleting the
        distribution first leaves only the seconds between the policy and the bucket.
        """
        emptier = self.bucket.node.find_child("AutoDeleteObjectsCustomResource")
        assert isinstance(emptier, CustomResource)
        for writer in acl_writers:
            writer.node.add_dependency(emptier)
