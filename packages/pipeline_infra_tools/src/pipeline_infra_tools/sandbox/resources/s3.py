"""S3: the bucket and each of its configuration resources (one per AWS API, as pulumi-aws 7 models them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    camel_to_pascal,
    drop_none,
    error_code,
    tag_list,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

# Route 53 zone id of S3 website endpoints in us-east-1, which AWS reports for every bucket there.
US_EAST_1_HOSTED_ZONE = "Z3AQBSTGFYJSTF"
MISSING_BUCKET = ("NoSuchBucket",)


def _bucket_name(request: ResourceRequest) -> str:
    return str(request.inputs.get("bucket") or request.name)


def create_bucket(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    s3 = ctx.clients.s3
    bucket = _bucket_name(request)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        if error_code(err) not in ("404", "NoSuchBucket"):
            raise
        options: dict[str, Any] = {"Bucket": bucket}
        if ctx.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        s3.create_bucket(**options)
    if ctx.tags:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(ctx.tags)})
    return bucket, {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{ctx.region}.amazonaws.com",
        "region": ctx.region,
        "hostedZoneId": US_EAST_1_HOSTED_ZONE,
    }


def delete_bucket(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    s3 = ctx.clients.s3
    if outputs.get("forceDestroy"):
        _empty(s3, id_)
    try:
        s3.delete_bucket(Bucket=id_)
    except ClientError as err:
        if error_code(err) in MISSING_BUCKET:
            return
        if error_code(err) == "BucketNotEmpty":
            raise ClientError(
                {
                    "Error": {
                        "Code": "BucketNotEmpty",
                        "Message": f"bucket {id_} still holds objects and forceDestroy "
                        "is off; empty it first or set storage.force_destroy in shared_config",
                    }
                },
                "DeleteBucket",
            ) from err
        raise


def _empty(s3: Any, bucket: str) -> None:
    """Delete every object version and delete marker, as forceDestroy does before removing the bucket."""
    paginator = s3.get_paginator("list_object_versions")
    try:
        for page in paginator.paginate(Bucket=bucket):
            doomed = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})
    except ClientError as err:
        if error_code(err) not in MISSING_BUCKET:
            raise


def _child(apply: Any, remove: Any) -> ResourceHandler:
    """A bucket configuration resource: its id is the bucket name; deleting it resets that configuration."""

    def create(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
        bucket = _bucket_name(request)
        apply(ctx.clients.s3, bucket, request.inputs)
        return bucket, {}

    def delete(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
        try:
            remove(ctx.clients.s3, id_)
        except ClientError as err:
            if error_code(err) not in MISSING_BUCKET:
                raise

    return ResourceHandler(create, delete)


def _versioning(s3: Any, bucket: str, inputs: dict[str, Any]) -> None:
    config = inputs.get("versioningConfiguration") or {}
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": config.get("status", "Enabled")})


def _encryption(s3: Any, bucket: str, inputs: dict[str, Any]) -> None:
    rules = []
    for rule in inputs.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        rules.append(
            drop_none(
                {
                    "ApplyServerSideEncryptionByDefault": drop_none(
                        {"SSEAlgorithm": default.get("sseAlgorithm"), "KMSMasterKeyID": default.get("kmsMasterKeyId")}
                    ),
                    "BucketKeyEnabled": rule.get("bucketKeyEnabled"),
                }
            )
        )
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})


def _public_access_block(s3: Any, bucket: str, inputs: dict[str, Any]) -> None:
    keys = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    config = {key[:1].upper() + key[1:]: bool(inputs.get(key, False)) for key in keys}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)


def _policy(s3: Any, bucket: str, inputs: dict[str, Any]) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=str(inputs["policy"]))


def _lifecycle(s3: Any, bucket: str, inputs: dict[str, Any]) -> None:
    rules = [camel_to_pascal(rule, {"id": "ID"}) for rule in inputs.get("rules") or []]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})


def _notification(s3: Any, bucket: str, inputs: dict[str, Any]) -> None:
    config: dict[str, Any] = {}
    if inputs.get("eventbridge"):
        config["EventBridgeConfiguration"] = {}
    for key, target in (("queues", "QueueConfigurations"), ("topics", "TopicConfigurations")):
        if inputs.get(key):
            config[target] = camel_to_pascal(inputs[key])
    if inputs.get("lambdaFunctions"):
        config["LambdaFunctionConfigurations"] = camel_to_pascal(inputs["lambdaFunctions"])
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)


def _ownership(s3: Any, bucket: str, inputs: dict[str, Any]) -> None:
    rule = inputs.get("rule") or {}
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]}
    )


def _suspend_versioning(s3: Any, bucket: str) -> None:
    # A versioned bucket can never return to unversioned; Suspended is what removing the resource means.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})


HANDLERS = {
    "aws:s3/bucket:Bucket": ResourceHandler(create_bucket, delete_bucket),
    "aws:s3/bucketVersioning:BucketVersioning": _child(_versioning, _suspend_versioning),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _child(
        _encryption, lambda s3, bucket: s3.delete_bucket_encryption(Bucket=bucket)
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _child(
        _public_access_block, lambda s3, bucket: s3.delete_public_access_block(Bucket=bucket)
    ),
    "aws:s3/bucketPolicy:BucketPolicy": _child(_policy, lambda s3, bucket: s3.delete_bucket_policy(Bucket=bucket)),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _child(
        _lifecycle, lambda s3, bucket: s3.delete_bucket_lifecycle(Bucket=bucket)
    ),
    "aws:s3/bucketNotification:BucketNotification": _child(
        _notification,
        lambda s3, bucket: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={}),
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _child(
        _ownership, lambda s3, bucket: s3.delete_bucket_ownership_controls(Bucket=bucket)
    ),
}
