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
        bucket policy and empties the bucket; once the policy (and its deny) is deleted, a
        log file written through the ACL before the bucket's own deletion fails it with
        BucketNotEmpty (aws/aws-cdk#16332). The policy must therefore outlive the
        distribution. That held only through an implicit chain (the ALB waits for the
        policy, the distribution for the ALB); this makes the order explicit. What stays
        open is the seconds between the policy's deletion and the bucket's.
        """
        emptier = self.bucket.node.find_child("AutoDeleteObjectsCustomResource")
        assert isinstance(emptier, CustomResource)
        for writer in acl_writers:
            writer.node.add_dependency(emptier)
