"""The environment's data bucket: versioned, encrypted, private, TLS-only, with lifecycle and EventBridge events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.policies import documents

if TYPE_CHECKING:
    from collections.abc import Sequence

TYPE_TOKEN = "pipeline-infra:storage:DataBucket"

# Prefixes that hold replicated configuration: they must never expire.
PERMANENT_PREFIXES = ("config/", "schemas/")
RAW_PREFIX = "raw/"


@dataclass(kw_only=True, frozen=True)
class DataBucketArgs:
    bucket_name: pulumi.Input[str]
    """Physical bucket name."""
    raw_retention_days: int
    """Days before objects under raw/ expire."""
    noncurrent_version_expiration_days: int
    """Days before a noncurrent object version expires."""
    force_destroy: bool = True
    """Let destroy empty the bucket."""
    replica_reader_arns: Sequence[pulumi.Input[str]] = ()
    """Roles of other environments allowed to read the replicated prefixes (the source environment's bucket only)."""
    replicated_prefixes: Sequence[str] = PERMANENT_PREFIXES
    """Prefixes those roles may read."""


class DataBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DataBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket=args.bucket_name, force_destroy=args.force_destroy, opts=child
        )
        self._create_protection(name, args, child)
        self._create_lifecycle(name, args, child)
        self.notification = aws.s3.BucketNotification(
            f"{name}-events", bucket=self.bucket.id, eventbridge=True, opts=child
        )
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})

    def _create_protection(self, name: str, args: DataBucketArgs, child: pulumi.ResourceOptions) -> None:
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, *args.replica_reader_arns).apply(
                lambda values: json.dumps(
                    documents.data_bucket(values[0], list(values[1:]), list(args.replicated_prefixes))
                )
            ),
            # S3 rejects a bucket policy while the public access block is being written.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )

    def _create_lifecycle(self, name: str, args: DataBucketArgs, child: pulumi.ResourceOptions) -> None:
        rule = aws.s3.BucketLifecycleConfigurationRuleArgs
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                rule(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
                # Only raw/ expires; config/ and schemas/ have no expiration rule at all.
                rule(
                    id="expire-raw-data",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=RAW_PREFIX),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.raw_retention_days),
                ),
            ],
            opts=child,
        )
