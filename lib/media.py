"""The media path: a private bucket of HLS renditions, read by CloudFront only, for entitled viewers only.

* The bucket is private (block public access, TLS only, encrypted); CloudFront
  reads it through origin access control, with origin shield.
* Viewers need a CloudFront signature (signed cookies that the API issues,
  scoped to one video) from a key in the key group built here. Each signing-key
  generation is an RSA key pair created at deploy time by a custom resource: the
  private key goes straight into that generation's secret, the public key into
  `AWS::CloudFront::PublicKey`. The API signs with the last generation.
* The demo clips committed under app/media/demo are deployed with the stack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lib.contract import Names
from lib.log_groups import log_group
from lib.nag import acknowledge, acknowledge_bucket_deployment

ROOT = Path(__file__).resolve().parent.parent
MEDIA_DIR = ROOT / "app" / "media"
DEMO_MEDIA_DIR = MEDIA_DIR / "demo"
FORMATS_FILE = MEDIA_DIR / "formats.json"
KEY_PAIR_FUNCTION_DIR = Path(__file__).resolve().parent / "functions" / "media_key_pair"

# The S3 key prefix and the CloudFront path are the same: /media/<id>/<version>/... is s3://bucket/media/<id>/<version>/...
MEDIA_PREFIX = "media"
MEDIA_PATH_PATTERN = f"/{MEDIA_PREFIX}/*"
# /media/<id>/<version>/poster.jpg ('*' matches across '/'): the one public file of a package.
# The API names it too (app/backend/catalog/playback.py POSTER; tests/unit/test_media.py checks they agree).
POSTER_FILE = "poster.jpg"
POSTER_PATH_PATTERN = f"/{MEDIA_PREFIX}/*/{POSTER_FILE}"
# The demo deployment's function: its own singleton (the error pages use the default size).
DEPLOYMENT_MEMORY_MIB = 512
# Objects say how long they may be cached (Cache-Control); these bound it.


def media_formats() -> dict[str, dict[str, str]]:
    """Extension → {content_type, cache_control} of every published media file (app/media/formats.json)."""
    formats: dict[str, dict[str, str]] = json.loads(FORMATS_FILE.read_text())["files"]
    return formats


class Media(Construct):
    """Bucket, key group and signing-key secrets, and the `/media/*` behaviors they add to the distribution."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        key_generations: Sequence[int],
        shield_region: str,
        log_bucket: s3.IBucket,
        distribution: cloudfront.Distribution,
        response_headers_policy: cloudfront.IResponseHeadersPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        name = names

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="media/",
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        self.origin = origins.S3BucketOrigin.with_origin_access_control(
            self.bucket,
            origin_shield_enabled=True,
            origin_shield_region=shield_region,
        )
        # Every media object is immutable for a year (app/media/formats.json) and already compressed:
        # AWS's managed CachingOptimizedForUncompressedObjects (no cookies, query strings or headers
        # in the key, no compression variants, the object's Cache-Control honoured up to a year)
        # rather than a custom policy, which would count against the account's quota of 20.
        self.cache_policy = cloudfront.CachePolicy.CACHING_OPTIMIZED_FOR_UNCOMPRESSED_OBJECTS

        # ----------------------------------------------------------- signing keys
        self.key_pair_function = lambda_.Function(
            self,
            "KeyPairFunction",
            function_name=name("media-key-pair"),
            description="Creates a CloudFront signing key pair; the private key goes only to its secret",
            runtime=lambda_.Runtime.NODEJS_24_X,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(KEY_PAIR_FUNCTION_DIR)),
            timeout=Duration.seconds(60),
            memory_size=256,
            log_group=log_group(self, "KeyPairFunctionLogs"),
        )
        acknowledge(
            self.key_pair_function.role,  # type: ignore[arg-type]
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "The AWS managed basic execution policy only lets the key-pair function write its own logs.",
        )
        self.signing_secrets: dict[int, secretsmanager.Secret] = {}
        self.public_keys: dict[int, cloudfront.PublicKey] = {}
        for generation in key_generations:
            secret = secretsmanager.Secret(
                self,
                f"SigningKey{generation}",
                secret_name=name(f"media-signing-key-{generation}"),
                description=f"Private key (PEM) of media signing-key generation {generation}; written once at creation",
                removal_policy=RemovalPolicy.DESTROY,
            )
            secret.grant_write(self.key_pair_function)
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "A signing key is rotated by adding a new generation (new key pair, new secret, both public keys "
                "in the key group) and later removing the old one; Secrets Manager rotation cannot change the "
                "public key registered in CloudFront.",
            )
            key_pair = CustomResource(
                self,
                f"KeyPair{generation}",
                service_token=self.key_pair_function.function_arn,
                resource_type="Custom::MediaKeyPair",
                properties={"SecretArn": secret.secret_arn, "Generation": str(generation)},
            )
            key_pair.node.add_dependency(self.key_pair_function)
            self.signing_secrets[generation] = secret
            self.public_keys[generation] = cloudfront.PublicKey(
                self,
                f"PublicKey{generation}",
                public_key_name=name(f"media-key-{generation}"),
                comment=f"Media signing-key generation {generation}",
                encoded_key=key_pair.get_att_string("PublicKey"),
            )
        self.key_group = cloudfront.KeyGroup(
            self,
            "KeyGroup",
            key_group_name=name("media-keys"),
            comment="Keys whose signatures grant access to /media/*",
            items=list(self.public_keys.values()),
        )
        current = key_generations[-1]
        self.signing_secret = self.signing_secrets[current]
        self.key_pair_id = self.public_keys[current].public_key_id

        # ----------------------------------------------------------- behaviors
        # Posters are catalog art, shown on every card: public, from the same bucket (added
        # before /media/*, which would otherwise match them first). Playlists and segments
        # need a signature from the key group (the signed cookies the API issues per video).
        # Video is already compressed.
        for pattern, key_groups in ((POSTER_PATH_PATTERN, []), (MEDIA_PATH_PATTERN, [self.key_group])):
            distribution.add_behavior(
                pattern,
                self.origin,
                cache_policy=self.cache_policy,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                compress=False,
                trusted_key_groups=key_groups or None,
                response_headers_policy=response_headers_policy,
            )

        # ----------------------------------------------------------- demo media
        # One deployment per file type, because S3 metadata is set per deployment. prune=False:
        # the bucket also holds what operators publish, which a prune would delete. Its own
        # deployment function (a different memory size), with its own 30-day log group.
        deployment_logs = log_group(self, "DemoDeploymentLogs")
        self.demo_deployments = []
        for extension, meta in media_formats().items():
            self.demo_deployments.append(
                s3deploy.BucketDeployment(
                    self,
                    f"Demo{extension.capitalize()}",
                    sources=[s3deploy.Source.asset(str(DEMO_MEDIA_DIR))],
                    destination_bucket=self.bucket,
                    destination_key_prefix=f"{MEDIA_PREFIX}/",
                    exclude=["*"],
                    include=[f"*.{extension}"],
                    content_type=meta["content_type"],
                    cache_control=[s3deploy.CacheControl.from_string(meta["cache_control"])],
                    prune=False,
                    retain_on_delete=False,
                    memory_limit=DEPLOYMENT_MEMORY_MIB,
                    log_group=deployment_logs,
                )
            )
        self._acknowledge_deployment_provider()

    def allow_reads_only_by(self, role: iam.IRole) -> None:
        """Let `role` read the signing keys, and deny every other principal, whatever its IAM policy says."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadMediaSigningKey",
                actions=["secretsmanager:GetSecretValue"],
                resources=[secret.secret_arn for secret in self.signing_secrets.values()],
            )
        )
        for secret in self.signing_secrets.values():
            secret.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OnlyTheApiReadsTheSigningKey",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["secretsmanager:GetSecretValue"],
                    resources=["*"],
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": role.role_arn}},
                )
            )

    def _acknowledge_deployment_provider(self) -> None:
        """Findings on the demo-media deployment function that aws-cdk-lib owns (a stack-level singleton)."""
        stack = Stack.of(self)
        handlers = [
            child
            for child in stack.node.children
            if child.node.id.startswith("Custom::CDKBucketDeployment") and child.node.id.endswith(f"{DEPLOYMENT_MEMORY_MIB}MiB")
        ]
        assert len(handlers) == 1, handlers
        for handler in handlers:
            acknowledge_bucket_deployment(
                handler,
                bucket=self.bucket.node.default_child,  # type: ignore[arg-type]
                copies="copies the demo clips into the media bucket",
            )
