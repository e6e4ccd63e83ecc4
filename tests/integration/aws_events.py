"""Events in the exact shapes AWS delivers them to the replicator, for tests that deliver one again by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pipeline_functions.constants import (
    CONFIG_CHANGE_DETAIL_TYPE,
    CONFIG_CHANGE_SOURCE,
    OBJECT_CREATED,
    OBJECT_DELETED,
    S3_EVENT_SOURCE,
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_event(kind: str, bucket: str, key: str, account: str, region: str) -> dict[str, Any]:
    """An S3 "Object Created" or "Object Deleted" EventBridge event for `key`.

    It carries no version id and a fresh sequencer, so the replicator's idempotency treats it as a new change.
    """
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": {"key": key, "sequencer": uuid.uuid4().hex[:18].upper()},
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account,
        "source-ip-address": "127.0.0.1",
        "reason": "PutObject" if kind == OBJECT_CREATED else "DeleteObject",
    }
    if kind == OBJECT_DELETED:
        detail["deletion-type"] = "Delete Marker Created"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": kind,
        "source": S3_EVENT_SOURCE,
        "account": account,
        "time": _now(),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": detail,
    }


def item_event(
    event_name: str, keys: dict[str, Any], sequence: int, stream_arn: str, pipe_arn: str, account: str, region: str
) -> dict[str, Any]:
    """A config table change as the Pipe puts it on the replication bus: one stream record as the detail."""
    record = {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": {
            "ApproximateCreationDateTime": int(datetime.now(UTC).timestamp()),
            "Keys": keys,
            "SequenceNumber": str(sequence),
            "SizeBytes": 1,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": stream_arn,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": CONFIG_CHANGE_DETAIL_TYPE,
        "source": CONFIG_CHANGE_SOURCE,
        "account": account,
        "time": _now(),
        "region": region,
        "resources": [pipe_arn],
        "detail": record,
    }
