"""S3 object events in the two shapes AWS delivers them: EventBridge and S3 event notification records.

EventBridge carries the object key verbatim; S3 notification records URL-encode it (spaces as ``+``).
Both are normalised here so callers see the real key plus, when the event may have been encoded by a
relay, an ``alternate_key`` to try only when the verbatim key is not found with the event's ETag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from pipeline_functions.constants import (
    OBJECT_CREATED,
    OBJECT_DELETED,
    OBJECT_TAGS_ADDED,
    OBJECT_TAGS_DELETED,
    S3_EVENT_SOURCE,
)
from pipeline_functions.exceptions import MalformedEventError

CREATED = OBJECT_CREATED
DELETED = OBJECT_DELETED
TAGS_ADDED = OBJECT_TAGS_ADDED
TAGS_DELETED = OBJECT_TAGS_DELETED
DETAIL_TYPES = (CREATED, DELETED, TAGS_ADDED, TAGS_DELETED)


@dataclass(frozen=True)
class S3ObjectEvent:
    event_id: str
    event_time: datetime
    detail_type: str
    bucket: str
    key: str
    alternate_key: str | None = None
    version_id: str | None = None
    etag: str | None = None
    sequencer: str | None = None
    size: int | None = None

    @property
    def created(self) -> bool:
        return self.detail_type == CREATED

    @property
    def tags_changed(self) -> bool:
        return self.detail_type in (TAGS_ADDED, TAGS_DELETED)


def parse_time(raw: Any) -> datetime:
    """ISO 8601 ('2024-01-01T00:00:00Z' or with offset) or epoch seconds; unknown shapes mean now."""
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(float(raw), UTC)
    if isinstance(raw, str) and raw:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return datetime.now(UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def is_eventbridge_s3(event: Any) -> bool:
    return isinstance(event, dict) and event.get("source") == S3_EVENT_SOURCE and "detail" in event


def is_s3_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:s3" and "s3" in record


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedEventError(f"S3 event has no {where} (expected a non-empty string)")
    return value


def from_eventbridge(event: dict[str, Any]) -> S3ObjectEvent:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEventError("EventBridge S3 event has no 'detail' object")
    detail_type = _text(event.get("detail-type"), "detail-type")
    if detail_type not in DETAIL_TYPES:
        raise MalformedEventError(f"unsupported S3 event type {detail_type!r}; expected one of {list(DETAIL_TYPES)}")
    raw_object = detail.get("object")
    obj: dict[str, Any] = raw_object if isinstance(raw_object, dict) else {}
    key = _text(obj.get("key"), "detail.object.key")
    decoded = unquote_plus(key)
    size = obj.get("size")
    return S3ObjectEvent(
        event_id=str(event.get("id") or ""),
        event_time=parse_time(event.get("time")),
        detail_type=detail_type,
        bucket=_text((detail.get("bucket") or {}).get("name"), "detail.bucket.name"),
        key=key,
        alternate_key=decoded if decoded != key else None,
        version_id=obj.get("version-id"),
        etag=(obj.get("etag") or obj.get("eTag") or "").strip('"') or None,
        sequencer=obj.get("sequencer"),
        size=int(size) if isinstance(size, int | float) else None,
    )


def _record_detail_type(name: str) -> str:
    if name.startswith("ObjectCreated"):
        return CREATED
    if name.startswith("ObjectRemoved"):
        return DELETED
    if name == "ObjectTagging:Put":
        return TAGS_ADDED
    if name == "ObjectTagging:Delete":
        return TAGS_DELETED
    raise MalformedEventError(
        f"unsupported S3 notification eventName {name!r}; expected ObjectCreated:*, ObjectRemoved:* or ObjectTagging:*"
    )


def from_record(record: dict[str, Any]) -> S3ObjectEvent:
    s3 = record.get("s3") or {}
    obj = s3.get("object") or {}
    name = _text(record.get("eventName"), "eventName")
    key = _text(obj.get("key"), "s3.object.key")
    size = obj.get("size")
    return S3ObjectEvent(
        event_id=str((record.get("responseElements") or {}).get("x-amz-request-id") or obj.get("sequencer") or ""),
        event_time=parse_time(record.get("eventTime")),
        detail_type=_record_detail_type(name),
        bucket=_text((s3.get("bucket") or {}).get("name"), "s3.bucket.name"),
        # Notification records are always URL-encoded: the decoded key is the real one.
        key=unquote_plus(key),
        version_id=obj.get("versionId"),
        etag=(obj.get("eTag") or "").strip('"') or None,
        sequencer=obj.get("sequencer"),
        size=int(size) if isinstance(size, int | float) else None,
    )


def parse_s3_events(event: Any) -> list[S3ObjectEvent]:
    """All S3 object events in ``event`` (one EventBridge event or a notification with Records)."""
    if is_eventbridge_s3(event):
        return [from_eventbridge(event)]
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        records = event["Records"]
        if all(is_s3_record(record) for record in records):
            return [from_record(record) for record in records]
    raise MalformedEventError(
        "not an S3 object event: expected an EventBridge 'aws.s3' event or S3 notification Records"
    )
