"""Reading S3 back: the bucket and each of its configuration resources, in pulumi-aws 7's input shapes.

A configuration resource that AWS no longer has (no policy, no lifecycle, no public access block...) reads as
gone (None), as the provider's Read drops it from the state; versioning and notifications always exist, so a
change to them reads as a changed value.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.base import ignore_missing
from pipeline_infra_tools.sandbox.resources.reading import (
    Inputs,
    ReadSpec,
    pascal_to_camel,
    tag_state,
    tags_from_list,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.resources.base import Outputs, ResourceContext

MISSING_BUCKET = ("NoSuchBucket", "404")
BUCKET_CONFIG = "AWS::S3::Bucket"
BUCKET = "aws:s3/bucket:Bucket"

# Inputs the cloud cannot report, with the reason; the recorded value stands in for them.
UNREADABLE: dict[str, dict[str, str]] = {
    BUCKET: {
        "forceDestroy": "a provider-side setting (empty the bucket before deleting it); no AWS API holds it",
    },
}


def _exists(s3: Any, bucket: str) -> bool:
    return ignore_missing(s3.head_bucket, *MISSING_BUCKET, Bucket=bucket) is not None


def read_bucket(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    s3 = ctx.clients.s3
    if not _exists(s3, id_):
        return None
    tagging = ignore_missing(s3.get_bucket_tagging, "NoSuchTagSet", Bucket=id_) or {}
    return {"bucket": id_, **tag_state(tags_from_list(tagging.get("TagSet")), inputs, outputs)}


def _configuration(getter: Any, id_: str, *missing: str) -> dict[str, Any] | None:
    """One Get* call; None when the bucket or that configuration is gone."""
    return ignore_missing(getter, *MISSING_BUCKET, *missing, Bucket=id_)


def read_versioning(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    response = _configuration(ctx.clients.s3.get_bucket_versioning, id_)
    if response is None:
        return None
    # A bucket that was never versioned has no Status; pulumi-aws reads it as "Disabled".
    config: dict[str, Any] = {"status": response.get("Status", "Disabled")}
    if "mfaDelete" in (inputs.get("versioningConfiguration") or {}):
        config["mfaDelete"] = response.get("MFADelete", "Disabled")
    return {"bucket": id_, "versioningConfiguration": config}


def read_encryption(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    response = _configuration(
        ctx.clients.s3.get_bucket_encryption, id_, "ServerSideEncryptionConfigurationNotFoundError"
    )
    if response is None:
        return None
    rules = []
    for rule in response["ServerSideEncryptionConfiguration"].get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        by_default = {"sseAlgorithm": default.get("SSEAlgorithm")}
        if default.get("KMSMasterKeyID"):
            by_default["kmsMasterKeyId"] = default["KMSMasterKeyID"]
        read: dict[str, Any] = {"applyServerSideEncryptionByDefault": by_default}
        if "BucketKeyEnabled" in rule:
            read["bucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
        rules.append(read)
    return {"bucket": id_, "rules": rules}


def read_public_access_block(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    response = _configuration(ctx.clients.s3.get_public_access_block, id_, "NoSuchPublicAccessBlockConfiguration")
    if response is None:
        return None
    config = response["PublicAccessBlockConfiguration"]
    keys = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    return {"bucket": id_, **{key: bool(config.get(key[:1].upper() + key[1:], False)) for key in keys}}


def read_policy(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    response = _configuration(ctx.clients.s3.get_bucket_policy, id_, "NoSuchBucketPolicy")
    return None if response is None else {"bucket": id_, "policy": response["Policy"]}


def read_lifecycle(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    response = _configuration(ctx.clients.s3.get_bucket_lifecycle_configuration, id_, "NoSuchLifecycleConfiguration")
    if response is None:
        return None
    read = {"bucket": id_, "rules": pascal_to_camel(response.get("Rules", []), {"ID": "id"})}
    if "TransitionDefaultMinimumObjectSize" in response:
        read["transitionDefaultMinimumObjectSize"] = response["TransitionDefaultMinimumObjectSize"]
    return read


def _eventbridge(ctx: ResourceContext, bucket: str) -> bool | None:
    """Whether the bucket sends its events to EventBridge; None when the bucket is gone.

    Emulator gap: moto's GetBucketNotificationConfiguration never returns EventBridgeConfiguration. Its AWS
    Config view of the bucket (GetResourceConfigHistory, an AWS API) reports the notification configuration the
    emulator holds, EventBridge included, as `{"configurations": {"EventBridgeConfiguration": {}}}`.
    """
    found = ignore_missing(
        ctx.clients.config.get_resource_config_history,
        "ResourceNotDiscoveredException",
        resourceType=BUCKET_CONFIG,
        resourceId=bucket,
    )
    if found is None:
        return None
    supplementary = found["configurationItems"][0].get("supplementaryConfiguration") or {}
    notification = supplementary.get("BucketNotificationConfiguration") or {}
    if isinstance(notification, str):
        notification = json.loads(notification)
    return "EventBridgeConfiguration" in (notification.get("configurations") or {})


def _destinations(configs: list[dict[str, Any]], arn_key: str, input_arn_key: str) -> list[dict[str, Any]]:
    """Queue, topic or function configurations in pulumi-aws's shape (filters as filterPrefix/filterSuffix)."""
    found = []
    for config in configs:
        item: dict[str, Any] = {"id": config.get("Id"), input_arn_key: config[arn_key], "events": config["Events"]}
        for rule in ((config.get("Filter") or {}).get("Key") or {}).get("FilterRules", []):
            item[f"filter{str(rule['Name']).capitalize()}"] = rule["Value"]
        found.append(item)
    return found


def read_notification(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    s3 = ctx.clients.s3
    response = _configuration(s3.get_bucket_notification_configuration, id_)
    eventbridge = _eventbridge(ctx, id_)
    if response is None or eventbridge is None:
        return None
    read: Inputs = {"bucket": id_, "eventbridge": eventbridge}
    for key, aws_key, arn_key, input_arn_key in (
        ("queues", "QueueConfigurations", "QueueArn", "queueArn"),
        ("topics", "TopicConfigurations", "TopicArn", "topicArn"),
        ("lambdaFunctions", "LambdaFunctionConfigurations", "LambdaFunctionArn", "lambdaFunctionArn"),
    ):
        destinations = _destinations(response.get(aws_key) or [], arn_key, input_arn_key)
        read[key] = destinations or None
    return read


def read_ownership(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    response = _configuration(ctx.clients.s3.get_bucket_ownership_controls, id_, "OwnershipControlsNotFoundError")
    if response is None:
        return None
    rules = response["OwnershipControls"].get("Rules") or [{}]
    return {"bucket": id_, "rule": {"objectOwnership": rules[0].get("ObjectOwnership")}}


READERS = {
    BUCKET: ReadSpec(read_bucket, unreadable=UNREADABLE[BUCKET]),
    "aws:s3/bucketVersioning:BucketVersioning": ReadSpec(read_versioning),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ReadSpec(read_encryption),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ReadSpec(read_public_access_block),
    "aws:s3/bucketPolicy:BucketPolicy": ReadSpec(read_policy, documents={"policy": "policy"}),
    # Lifecycle rules are a set in AWS, each named by its id.
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ReadSpec(read_lifecycle, sets={"rules": "id"}),
    "aws:s3/bucketNotification:BucketNotification": ReadSpec(read_notification),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ReadSpec(read_ownership),
}
