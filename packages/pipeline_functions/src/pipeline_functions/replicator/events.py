"""Turning whatever reaches the replicator into changes, one record at a time.

Accepted shapes: one EventBridge event (S3 object and tag events, the config table Pipe's bus event, a
`pipeline-infra resync` request), a list of them, S3 notification ``Records``, raw DynamoDB stream records,
and a Lambda on-failure destination record (or the replicator's own dead-letter record) wrapping any of these.

Every record becomes an `Entry`: the change it describes, or the reason it was rejected, plus the record itself
in a shape that can be replayed on its own, so one bad record is dead-lettered alone and never sinks its batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_functions.constants import (
    CONFIG_CHANGE_SOURCE,
    RESYNC_ITEM_DETAIL_TYPE,
    RESYNC_OBJECT_DETAIL_TYPE,
    RESYNC_SOURCE,
    S3_EVENT_SOURCE,
)
from pipeline_functions.exceptions import MalformedEventError
from pipeline_functions.replicator.exceptions import UnsupportedEventError
from pipeline_functions.shared.s3events import S3ObjectEvent, from_eventbridge, from_record, is_s3_record, parse_time

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

CONFIG_TABLE_SOURCE = CONFIG_CHANGE_SOURCE
_STREAM_EVENTS = frozenset({"INSERT", "MODIFY", "REMOVE"})


@dataclass(frozen=True)
class ItemChange:
    """One config table stream record: which item changed and the stream sequence that describes it."""

    event_id: str
    event_time: datetime
    event_name: str
    keys: dict[str, Any]  # DynamoDB JSON, e.g. {"pk": {"S": "..."}, "sk": {"S": "..."}}
    sequence: str
    table_name: str | None = None


@dataclass(frozen=True)
class ResyncObject:
    """`pipeline-infra resync`: make the replicas of ``key`` equal prod's current object, whatever they record."""

    event_id: str
    event_time: datetime
    bucket: str
    key: str
    targets: tuple[str, ...] = ()  # empty: every target


@dataclass(frozen=True)
class ResyncItem:
    """`pipeline-infra resync`: make the replicas of one item equal prod's current item."""

    event_id: str
    event_time: datetime
    table_name: str
    keys: dict[str, Any]
    targets: tuple[str, ...] = ()


Change = S3ObjectEvent | ItemChange | ResyncObject | ResyncItem


@dataclass(frozen=True)
class Entry:
    """One record of an invocation: its change or why it was rejected, and the record as it can be replayed."""

    event_id: str
    payload: Any
    change: Change | None = None
    rejection: str | None = None
    # Attempts an earlier run already made (a dead-letter record being redriven); 0 for a first delivery.
    prior_attempts: int = 0

    @property
    def redriven(self) -> bool:
        return self.prior_attempts > 0


@dataclass(frozen=True)
class ParsedEvent:
    entries: list[Entry] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [entry.change for entry in self.entries if entry.change is not None]

    @property
    def rejected(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.rejection is not None]


def _is_destination_record(event: Any) -> bool:
    return isinstance(event, dict) and "requestPayload" in event and "requestContext" in event


def unwrap(event: Any, prior_attempts: int = 0) -> Iterator[tuple[Any, int]]:
    """Yield (single record as it can be replayed alone, attempts already made) for every record in ``event``."""
    if isinstance(event, list):
        for item in event:
            yield from unwrap(item, prior_attempts)
    elif _is_destination_record(event):
        context = event["requestContext"] if isinstance(event["requestContext"], dict) else {}
        attempts = context.get("approximateInvokeCount", 1)
        yield from unwrap(event["requestPayload"], attempts if isinstance(attempts, int) and attempts > 0 else 1)
    elif isinstance(event, dict) and isinstance(event.get("Records"), list):
        for record in event["Records"]:
            yield {"Records": [record]}, prior_attempts
    else:
        yield event, prior_attempts


def _table_from_arn(arn: Any) -> str | None:
    # arn:aws:dynamodb:region:account:table/NAME/stream/LABEL
    if not isinstance(arn, str) or ":table/" not in arn:
        return None
    return arn.split(":table/", 1)[1].split("/", 1)[0]


def _stream_record(record: dict[str, Any], event_id: str, fallback_time: Any) -> ItemChange:
    name = record.get("eventName")
    if name not in _STREAM_EVENTS:
        raise UnsupportedEventError(f"stream record eventName {name!r} is not INSERT, MODIFY or REMOVE")
    dynamodb = record.get("dynamodb")
    if not isinstance(dynamodb, dict) or not isinstance(dynamodb.get("Keys"), dict) or not dynamodb["Keys"]:
        raise UnsupportedEventError("stream record has no dynamodb.Keys")
    sequence = str(dynamodb.get("SequenceNumber") or "")
    if not sequence.isdigit():
        raise UnsupportedEventError(f"stream record SequenceNumber {sequence!r} is not a decimal number")
    created = dynamodb.get("ApproximateCreationDateTime")
    return ItemChange(
        event_id=str(record.get("eventID") or event_id),
        event_time=parse_time(created if created is not None else fallback_time),
        event_name=str(name),
        keys=dynamodb["Keys"],
        sequence=sequence,
        table_name=_table_from_arn(record.get("eventSourceARN")),
    )


def _targets(detail: dict[str, Any]) -> tuple[str, ...]:
    raw = detail.get("targets", [])
    if not isinstance(raw, list) or not all(isinstance(name, str) and name for name in raw):
        raise UnsupportedEventError("resync detail.targets must be a list of environment names")
    return tuple(raw)


def _resync(event: dict[str, Any]) -> ResyncObject | ResyncItem:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise UnsupportedEventError(f"{RESYNC_SOURCE} event has no 'detail' object")
    event_id, event_time = str(event.get("id") or ""), parse_time(event.get("time"))
    kind = event.get("detail-type")
    if kind == RESYNC_OBJECT_DETAIL_TYPE:
        bucket, key = detail.get("bucket"), detail.get("key")
        if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
            raise UnsupportedEventError("resync object request needs detail.bucket and detail.key (non-empty strings)")
        return ResyncObject(event_id, event_time, bucket, key, _targets(detail))
    if kind == RESYNC_ITEM_DETAIL_TYPE:
        table, keys = detail.get("table"), detail.get("keys")
        if not isinstance(table, str) or not table or not isinstance(keys, dict) or not keys:
            raise UnsupportedEventError("resync item request needs detail.table and detail.keys (DynamoDB JSON)")
        return ResyncItem(event_id, event_time, table, keys, _targets(detail))
    raise UnsupportedEventError(
        f"{RESYNC_SOURCE} detail-type {kind!r}; expected {RESYNC_OBJECT_DETAIL_TYPE!r} or {RESYNC_ITEM_DETAIL_TYPE!r}"
    )


def _change(event: Any) -> Change:
    if isinstance(event, dict) and isinstance(event.get("Records"), list) and len(event["Records"]) == 1:
        event = event["Records"][0]
    if not isinstance(event, dict):
        raise UnsupportedEventError(f"event is a {type(event).__name__}, expected a JSON object")
    source = event.get("source")
    if source == S3_EVENT_SOURCE:
        return from_eventbridge(event)
    if source == CONFIG_TABLE_SOURCE:
        detail = event.get("detail")
        if not isinstance(detail, dict):
            raise UnsupportedEventError(f"{CONFIG_TABLE_SOURCE} event has no 'detail' stream record")
        return _stream_record(detail, str(event.get("id") or ""), event.get("time"))
    if source == RESYNC_SOURCE:
        return _resync(event)
    if event.get("eventSource") == "aws:dynamodb":
        return _stream_record(event, "", None)
    if is_s3_record(event):
        return from_record(event)
    raise UnsupportedEventError(
        f"unknown event source {source or event.get('eventSource')!r}; "
        f"expected 'aws.s3', {CONFIG_TABLE_SOURCE!r} or {RESYNC_SOURCE!r}"
    )


def _record_id(payload: Any, index: int) -> str:
    record = payload
    if isinstance(payload, dict) and isinstance(payload.get("Records"), list) and len(payload["Records"]) == 1:
        record = payload["Records"][0]
    if isinstance(record, dict):
        detail = record.get("detail")
        # The Pipe's bus event wraps one stream record; its eventID is the id the replicator reports it by.
        from_pipe = record.get("source") == CONFIG_TABLE_SOURCE and isinstance(detail, dict)
        stream_id = detail.get("eventID") if from_pipe and isinstance(detail, dict) else None
        found = stream_id or record.get("id") or record.get("eventID")
        if not found and isinstance(record.get("responseElements"), dict):
            found = record["responseElements"].get("x-amz-request-id")
        if found:
            return str(found)
    return f"record #{index}"


def parse_event(event: Any) -> ParsedEvent:
    """Every record in ``event`` as an Entry; an unusable record is rejected with its reason, never dropped."""
    parsed = ParsedEvent()
    for index, (payload, prior_attempts) in enumerate(unwrap(event)):
        event_id = _record_id(payload, index)
        try:
            change = _change(payload)
        except MalformedEventError as exc:
            parsed.entries.append(Entry(event_id, payload, rejection=str(exc), prior_attempts=prior_attempts))
        else:
            parsed.entries.append(Entry(event_id, payload, change, prior_attempts=prior_attempts))
    if not parsed.entries:
        parsed.entries.append(Entry("record #0", event, rejection="event holds no changes"))
    return parsed
