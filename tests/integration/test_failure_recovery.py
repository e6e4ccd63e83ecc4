"""Replication failing on a missing target bucket, and recovering through the DLQ and redrive.

Staging's bucket is removed for the duration of the test and restored in a finally block with everything it
held: the same name, versioning, encryption, ownership, public access block, lifecycle, tags, policy and
current objects, and its EventBridge notifications last (so putting raw/ objects back starts no validation).
The test checks that the restored bucket is configured as before, so later tests find staging as deployed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from pipeline_infra_tools.operations import redrive
from pipeline_infra_tools.sandbox.lambda_runtime.process import runtime_for
from tests.integration.helpers import (
    object_versions,
    overlay_level,
    read_object,
    subscribed,
    unique,
    wait_for,
    wait_for_object,
)

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

BROKEN = "staging"


@dataclass
class BucketSnapshot:
    """What a deployed data bucket is: its configuration and its current objects."""

    name: str
    configuration: dict[str, Any]
    objects: dict[str, tuple[bytes, str, dict[str, str]]] = field(default_factory=dict)  # key -> body, type, meta


def configuration(s3: Any, bucket: str) -> dict[str, Any]:
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    return {
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "encryption": s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
        "ownership": s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"],
        "public_access_block": s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
        "lifecycle": lifecycle["Rules"],
        "tags": sorted((t["Key"], t["Value"]) for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]),
        "policy": json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]),
    }


def snapshot(s3: Any, bucket: str) -> BucketSnapshot:
    taken = BucketSnapshot(bucket, configuration(s3, bucket))
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            response = s3.get_object(Bucket=bucket, Key=entry["Key"])
            taken.objects[entry["Key"]] = (
                response["Body"].read(),
                response.get("ContentType", "binary/octet-stream"),
                dict(response.get("Metadata") or {}),
            )
    return taken


def remove(s3: Any, bucket: str) -> None:
    """Every version and delete marker, then the bucket: as if someone deleted staging's bucket."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def restore(s3: Any, taken: BucketSnapshot) -> None:
    """The bucket as the snapshot describes it; safe to call whatever state the test left it in."""
    bucket, config = taken.name, taken.configuration
    if not exists(s3, bucket):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": config["versioning"]})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=config["encryption"])
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=config["ownership"])
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": config["lifecycle"]})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in config["tags"]]})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(config["policy"]))
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config["public_access_block"])
    for key, (body, content_type, metadata) in taken.objects.items():
        current = read_object(s3, bucket, key)
        if current is None or current.body != body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata)
    # Every data bucket sends its events to EventBridge; the emulator does not report that setting back.
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})


def dead_letters(sqs: Any, queue_url: str, key: str) -> list[dict[str, Any]] | None:
    """The DLQ's on-failure records for `key`, looked at without taking them off the queue."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    records = [json.loads(m["Body"]) for m in messages]
    mine = [r for r in records if r.get("requestPayload", {}).get("detail", {}).get("object", {}).get("key") == key]
    return mine or None


def queue_depth(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_missing_target_bucket_dead_letters_the_change_and_redrive_recovers_it(sandbox: DeployedSandbox) -> None:
    s3, sqs = sandbox.client("s3"), sandbox.client("sqs")
    prod, dev = sandbox.outputs("storage", "prod"), sandbox.outputs("storage", "dev")
    broken_bucket = sandbox.outputs("storage", BROKEN)["bucket_name"]
    notifications = sandbox.outputs("notifications", "prod")
    dlq_url = notifications["replication_dlq_url"]
    replicator = sandbox.outputs("replication", "prod")["replicator_function_name"]
    key = f"config/recovery/{unique('orders')}.json"
    resource = f"s3://{prod['bucket_name']}/{key}"

    taken = snapshot(s3, broken_bucket)
    try:
        with subscribed(sandbox, notifications["failure_topic_arn"]) as inbox:
            # GIVEN staging's bucket is gone
            remove(s3, broken_bucket)
            # WHEN a config file is written in prod
            body = {"source": prod["bucket_name"], "logging": {"level": "WARN"}}
            s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=json.dumps(body).encode())
            # THEN dev still gets its replica
            wait_for_object(s3, dev["bucket_name"], key)
            # AND after its retries the change lands in the replication DLQ with the reason
            [record] = wait_for(lambda: dead_letters(sqs, dlq_url, key), f"DLQ record for {key}")
            assert record["requestContext"]["condition"] == "RetriesExhausted"
            assert record["requestContext"]["approximateInvokeCount"] == 3  # the first attempt and 2 retries
            assert BROKEN in record["responsePayload"]["errorMessage"], record["responsePayload"]
            assert record["requestContext"]["functionArn"].split(":")[6] == replicator
            # AND each retried attempt says `retrying`, and the final one `failed` once, with the attempts
            sent = inbox.wait(lambda n: n.body["resource"] == resource, count=3, what=f"notifications for {resource}")
            assert sorted(
                (n.body["details"]["attempts"], n.attributes["outcome"], n.attributes["environment"]) for n in sent
            ) == [(1, "retrying", BROKEN), (2, "retrying", BROKEN), (3, "failed", BROKEN)]
            assert all("NoSuchBucket" in n.body["reason"] for n in sent), [n.body for n in sent]
    finally:
        # WHEN the bucket is restored as it was deployed
        restore(s3, taken)

    assert configuration(s3, broken_bucket) == taken.configuration
    # AND the DLQ is redriven
    runtime = runtime_for(sandbox.workspace.state_dir)
    runtime.reload()  # the deployed functions, as the redrive command loads them
    try:
        report = redrive(runtime, replicator, dlq_url)
    finally:
        runtime.close()
    # THEN the change is replicated to the restored bucket, rewritten, and the DLQ is empty
    assert report.failed == [] and report.succeeded == report.replayed >= 1, report.to_json()
    replica = wait_for_object(s3, broken_bucket, key)
    assert replica.json() == {"source": broken_bucket, "logging": {"level": overlay_level(sandbox, BROKEN)}}
    assert queue_depth(sqs, dlq_url) == 0
    # AND nothing is lost: dev was written once, and staging holds everything it held before
    assert len(object_versions(s3, dev["bucket_name"], key)) == 1
    for old_key, (old_body, _, _) in taken.objects.items():
        restored = read_object(s3, broken_bucket, old_key)
        assert restored is not None and restored.body == old_body, old_key
