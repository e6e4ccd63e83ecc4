"""Turning whatever reaches the replicator into changes: S3 object events and config table stream records.

Accepted shapes: one EventBridge event (S3 or the config table Pipe's bus event), a list of them (redrive,
batch), a Lambda on-failure destination record wrapping any of these, and raw DynamoDB stream records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_functions.constants import CONFIG_CHANGE_SOURCE, S3_EVENT_SOURCE
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
class ParsedEvent:
    changes: list[S3ObjectEvent | ItemChange] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (event id, reason)


def unwrap(event: Any) -> Iterator[Any]:
    """Yield the individual events inside lists and on-failure destination records."""
    if isinstance(event, list):
        for item in event:
            yield from unwrap(item)
    elif isinstance(event, dict) and "requestPayload" in event and "requestContext" in event:
        yield from unwrap(event["requestPayload"])
    elif isinstance(event, dict) and isinstance(event.get("Records"), list):
        yield from event["Records"]
    else:
        yield event


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


def _change(event: Any) -> S3ObjectEvent | ItemChange:
    if not isinstance(event, dict):
        raise UnsupportedEventError(f"event is a {type(event).__name__}, expected a JSON object")
    source = event.get("source")
    if source == S3_EVENT_SOURCE:
        try:
            return from_eventbridge(event)
        except MalformedEventError as exc:
            raise UnsupportedEventError(str(exc)) from exc
    if source == CONFIG_TABLE_SOURCE:
        detail = event.get("detail")
        if not isinstance(detail, dict):
            raise UnsupportedEventError(f"{CONFIG_TABLE_SOURCE} event has no 'detail' stream record")
        return _stream_record(detail, str(event.get("id") or ""), event.get("time"))
    if event.get("eventSource") == "aws:dynamodb":
        return _stream_record(event, "", None)
    if is_s3_record(event):
        return from_record(event)
    raise UnsupportedEventError(
        f"unknown event source {source or event.get('eventSource')!r}; expected 'aws.s3' or {CONFIG_TABLE_SOURCE!r}"
    )


def parse_event(event: Any) -> ParsedEvent:
    """Every change in ``event``; unusable parts are collected as rejected (event id, reason), not dropped."""
    parsed = ParsedEvent()
    for index, item in enumerate(unwrap(event)):
        try:
            parsed.changes.append(_change(item))
        except UnsupportedEventError as exc:
            event_id = f"#{index}"
            if isinstance(item, dict):
                event_id = str(item.get("id") or item.get("eventID") or event_id)
            parsed.rejected.append((event_id, str(exc)))
    if not parsed.changes and not parsed.rejected:
        parsed.rejected.append(("#0", "event holds no changes"))
    return parsed
