"""The requests `pipeline-infra resync` sends the replicator: bring one object or item of one target in line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pipeline_functions.constants import RESYNC_ITEM_DETAIL_TYPE, RESYNC_OBJECT_DETAIL_TYPE, RESYNC_SOURCE


def _event(detail_type: str, detail: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": RESYNC_SOURCE,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": detail,
    }


def resync_object_event(bucket: str, key: str, target: str, account: str, region: str) -> dict[str, Any]:
    """Make `target`'s replica of `key` equal prod's current object (or absent if prod has none)."""
    return _event(RESYNC_OBJECT_DETAIL_TYPE, {"bucket": bucket, "key": key, "targets": [target]}, account, region)


def resync_item_event(table: str, keys: dict[str, Any], target: str, account: str, region: str) -> dict[str, Any]:
    """Make `target`'s replica of the item with `keys` (DynamoDB JSON) equal prod's current item."""
    return _event(RESYNC_ITEM_DETAIL_TYPE, {"table": table, "keys": keys, "targets": [target]}, account, region)
