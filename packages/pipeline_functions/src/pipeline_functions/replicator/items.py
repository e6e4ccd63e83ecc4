"""Replicating one prod config table item to one target table.

The item is read from prod with a consistent read (its state now, not the stream image), rewritten, and
written with a condition on ``_replica_source_sequence`` (the stream sequence number that caused the write),
so a late or reordered record can never replace a newer replica with older data. A removal is conditional on
the replica recording no newer sequence than the record's own: a record whose earlier attempt wrote the replica
removes it once prod's item is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pipeline_functions.replicator.exceptions import ItemTooLargeError
from pipeline_functions.replicator.results import DELETED, REPLICATED, SKIPPED, TargetResult
from pipeline_functions.shared.rewrite import Rewriter

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_dynamodb import DynamoDBClient

    from pipeline_functions.replicator.events import ItemChange
    from pipeline_functions.replicator.settings import ReplicatorSettings
    from pipeline_functions.shared.targets import ReplicationTarget

SEQUENCE_ATTR = "_replica_source_sequence"
EVENT_TIME_ATTR = "_replica_source_event_time"
REPLICA_ATTRIBUTES = (SEQUENCE_ATTR, EVENT_TIME_ATTR)
MAX_ITEM_BYTES = 400 * 1024
_CONDITION = "attribute_not_exists(#seq) OR #seq < :seq"
_REMOVAL_CONDITION = "attribute_not_exists(#seq) OR #seq <= :seq"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_python(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def describe_key(keys: dict[str, Any]) -> str:
    return json.dumps(to_python(keys), sort_keys=True, default=str)


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's own accounting of an attribute value's size (DynamoDB JSON), close enough to enforce the limit."""
    ((kind, inner),) = value.items()
    if kind in ("S",):
        return len(inner.encode("utf-8"))
    if kind == "N":
        return (len(str(inner).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum((len(str(n)) + 1) // 2 + 1 for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + 1 + attribute_size(v) for k, v in inner.items())
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


class ItemReplicator:
    """Brings the replica of one prod config item in line with prod's current state."""

    def __init__(self, settings: ReplicatorSettings, source_dynamodb: DynamoDBClient) -> None:
        self._settings = settings
        self._dynamodb = source_dynamodb

    def read_source(self, keys: dict[str, Any]) -> dict[str, Any] | None:
        response = self._dynamodb.get_item(TableName=self._settings.source_table, Key=keys, ConsistentRead=True)
        item = response.get("Item")
        return dict(item) if item else None

    def replicate(
        self, change: ItemChange, source: dict[str, Any] | None, target: ReplicationTarget, dynamodb: DynamoDBClient
    ) -> TargetResult:
        """A stream record: write only if the replica holds an older stream sequence (or none)."""
        condition = _CONDITION if source is not None else _REMOVAL_CONDITION
        guard = _Guard(condition, {"#seq": SEQUENCE_ATTR}, {":seq": {"N": change.sequence}})
        newer = ">=" if source is not None else ">"
        stale = f"replica already holds stream sequence {newer} {change.sequence}; writing would go backwards"
        return self._apply(
            change.keys, source, target, dynamodb, guard, Decimal(change.sequence), stale, change.event_time
        )

    def resync(
        self,
        keys: dict[str, Any],
        source: dict[str, Any] | None,
        target: ReplicationTarget,
        dynamodb: DynamoDBClient,
        event_time: datetime,
    ) -> TargetResult:
        """`pipeline-infra resync`: write prod's current item, keeping the sequence the replica records.

        A resync has no stream sequence of its own. Giving it one would make up a position in the stream, and a
        later real change whose sequence is not above the made-up one would be skipped. So the write keeps the
        replica's sequence and is conditional on the replica being unchanged since it was read: a live change
        that lands in between wins, and every later one still applies.
        """
        target_keys = _target_keys(keys, target)
        current = (
            dynamodb.get_item(
                TableName=target.config_table,
                Key=target_keys,
                ConsistentRead=True,
                ProjectionExpression="#seq",
                ExpressionAttributeNames={"#seq": SEQUENCE_ATTR},
            ).get("Item")
            or {}
        )
        recorded = current.get(SEQUENCE_ATTR, {}).get("N")
        if recorded is None:
            guard = _Guard("attribute_not_exists(#seq)", {"#seq": SEQUENCE_ATTR}, {})
        else:
            guard = _Guard("#seq = :seq", {"#seq": SEQUENCE_ATTR}, {":seq": {"N": recorded}})
        moved = "a live change reached the replica during the resync; it holds the newer state"
        sequence = Decimal(recorded) if recorded is not None else None
        return self._apply(keys, source, target, dynamodb, guard, sequence, moved, event_time)

    def _apply(
        self,
        keys: dict[str, Any],
        source: dict[str, Any] | None,
        target: ReplicationTarget,
        dynamodb: DynamoDBClient,
        guard: _Guard,
        sequence: Decimal | None,
        stale: str,
        event_time: datetime,
    ) -> TargetResult:
        rewriter = Rewriter(target.replacements, target.overlay)
        target_keys = _target_keys(keys, target)
        if source is None:
            if not self._settings.propagate_deletes:
                return TargetResult(target.environment, SKIPPED, "prod item is gone; delete propagation is off")
            try:
                response = dynamodb.delete_item(
                    TableName=target.config_table, Key=target_keys, ReturnValues="ALL_OLD", **guard.kwargs()
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return TargetResult(target.environment, SKIPPED, stale)
                raise
            if not response.get("Attributes"):
                return TargetResult(target.environment, SKIPPED, "prod item is gone and the replica is already absent")
            return TargetResult(target.environment, DELETED, "prod item is gone; replica deleted")

        python_item = {k: v for k, v in to_python(source).items() if k not in REPLICA_ATTRIBUTES}
        rewritten = rewriter.checked(rewriter.item(python_item), f"item {describe_key(keys)}")
        if sequence is not None:
            rewritten[SEQUENCE_ATTR] = sequence
        rewritten[EVENT_TIME_ATTR] = event_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        item = to_dynamodb(rewritten)
        size = item_size(item)
        if size > MAX_ITEM_BYTES:
            raise ItemTooLargeError(
                f"item {describe_key(keys)} is {size} bytes after rewriting for {target.environment}; "
                f"DynamoDB accepts at most {MAX_ITEM_BYTES}"
            )
        try:
            dynamodb.put_item(TableName=target.config_table, Item=item, **guard.kwargs())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return TargetResult(target.environment, SKIPPED, stale)
            raise
        return TargetResult(target.environment, REPLICATED, f"item rewritten for {target.environment}", size, True)


def _target_keys(keys: dict[str, Any], target: ReplicationTarget) -> dict[str, Any]:
    """The item's key in the target: rewritten like the item, and never naming prod."""
    rewriter = Rewriter(target.replacements, target.overlay)
    return to_dynamodb(rewriter.checked(rewriter.value(to_python(keys)), "item key"))


@dataclass(frozen=True)
class _Guard:
    """The condition a replica write is made under."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any]

    def kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"ConditionExpression": self.expression, "ExpressionAttributeNames": self.names}
        if self.values:
            kwargs["ExpressionAttributeValues"] = self.values
        return kwargs
