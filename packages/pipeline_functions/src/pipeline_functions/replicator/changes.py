"""One change applied to every target it concerns, and each target's outcome logged, measured and notified."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pipeline_functions.exceptions import PipelineFunctionsError, RewriteError, UnparseableDocumentError
from pipeline_functions.replicator.events import ItemChange, ResyncItem, ResyncObject
from pipeline_functions.replicator.exceptions import ItemTooLargeError
from pipeline_functions.replicator.items import ItemReplicator, describe_key
from pipeline_functions.replicator.objects import ObjectReplicator
from pipeline_functions.replicator.results import (
    DELETED,
    FAILED,
    REFUSED,
    REPLICATED,
    SKIPPED,
    SourceObject,
    TargetResult,
)
from pipeline_functions.shared.notifications import Notification
from pipeline_functions.shared.s3events import S3ObjectEvent
from pipeline_functions.shared.telemetry import BYTES, SECONDS, emit_metric

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from pipeline_functions.replicator.events import Change, Entry
    from pipeline_functions.replicator.settings import ReplicatorSettings
    from pipeline_functions.shared.notifications import Notifier
    from pipeline_functions.shared.targets import ReplicationTarget, TargetClientCache

logger = Logger()
SOURCE = "replicator"
# Errors that mean "this target could not be written now": retried.
TRANSIENT_ERRORS = (ClientError, BotoCoreError, PipelineFunctionsError)
# Errors that mean "this must not be written": retrying cannot change the answer.
PERMANENT_ERRORS = (RewriteError, UnparseableDocumentError, ItemTooLargeError)
# How often a change follows prod's object when it changes again mid-write before leaving it to a retry.
SETTLE_ROUNDS = 3


@dataclass(frozen=True)
class ChangeResult:
    event_id: str
    resource: str
    outcomes: tuple[TargetResult, ...] = field(default_factory=tuple)
    duplicate: bool = False

    @property
    def transient(self) -> bool:
        return any(o.outcome == FAILED for o in self.outcomes)

    @property
    def refused(self) -> bool:
        return any(o.outcome == REFUSED for o in self.outcomes)

    def describe(self) -> str:
        failing = [o for o in self.outcomes if o.outcome in (FAILED, REFUSED)]
        return f"{self.resource}: " + ", ".join(f"{o.environment} {o.outcome} ({o.reason})" for o in failing)

    def summary(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "resource": self.resource,
            "targets": [o.as_dict() for o in self.outcomes],
            "duplicate": self.duplicate,
        }

    @classmethod
    def from_summary(cls, raw: dict[str, Any]) -> ChangeResult:
        return cls(
            event_id=str(raw["event_id"]),
            resource=str(raw["resource"]),
            outcomes=tuple(TargetResult(**target) for target in raw["targets"]),
            duplicate=bool(raw.get("duplicate", False)),
        )


def same_source(now: SourceObject | None, before: SourceObject | None) -> bool:
    if now is None or before is None:
        return now is before
    return (now.etag, now.version_id) == (before.etag, before.version_id)


def _changed_meanwhile(result: TargetResult, what: str) -> TargetResult:
    return replace(result, reason=f"prod {what} changed while it was replicated; {result.reason}")


def _unconfirmed(result: TargetResult, reason: str) -> TargetResult:
    """A write whose result could not be confirmed against prod is not reported as done: it is retried."""
    if result.outcome in (FAILED, REFUSED):
        return result
    return TargetResult(result.environment, FAILED, reason)


def identity(entry: Entry) -> dict[str, Any]:
    """What makes two deliveries the same change (event ids differ between S3's own duplicate events)."""
    change = entry.change
    if isinstance(change, S3ObjectEvent):
        version = change.version_id or change.sequencer or change.etag or change.event_id
        if change.tags_changed:
            # A tag change leaves the version as it is, so only the event tells two tag changes apart.
            version = f"{version}/{change.event_id}"
        return {
            "kind": "object",
            "type": change.detail_type,
            "bucket": change.bucket,
            "key": change.key,
            "version": version,
        }
    if isinstance(change, ItemChange):
        return {"kind": "item", "keys": change.keys, "sequence": change.sequence, "event": change.event_name}
    if isinstance(change, ResyncObject | ResyncItem):
        return {"kind": "resync", "id": change.event_id}
    return {"kind": "record", "id": entry.event_id}


class ChangeProcessor:
    """Reads prod's current state of what changed and brings each target in line with it."""

    def __init__(
        self, settings: ReplicatorSettings, s3: S3Client, dynamodb: DynamoDBClient, targets: TargetClientCache
    ) -> None:
        self._settings = settings
        self._targets = targets
        self._objects = ObjectReplicator(settings, s3)
        self._items = ItemReplicator(settings, dynamodb)

    def rejection(self, change: Change) -> str | None:
        """Why a well-formed change is still not this replicator's to make, or None."""
        settings = self._settings
        if isinstance(change, S3ObjectEvent | ResyncObject) and change.bucket != settings.source_bucket:
            return f"event is for bucket {change.bucket!r}; this replicator replicates {settings.source_bucket!r}"
        if isinstance(change, ItemChange | ResyncItem) and change.table_name not in (None, settings.source_table):
            return f"record is from table {change.table_name!r}; expected {settings.source_table!r}"
        if isinstance(change, ResyncObject | ResyncItem):
            known = {t.environment for t in settings.targets}
            unknown = sorted(set(change.targets) - known)
            if unknown:
                return f"resync names environments {unknown} that are not replication targets ({sorted(known)})"
        return None

    def _selected(self, change: Change) -> list[ReplicationTarget]:
        wanted = change.targets if isinstance(change, ResyncObject | ResyncItem) else ()
        return [t for t in self._settings.targets if not wanted or t.environment in wanted]

    def process(self, entry: Entry) -> ChangeResult:
        change = entry.change
        if isinstance(change, S3ObjectEvent):
            resource, outcomes = self._object(change.key, change.alternate_key, change.etag, change, force=False)
        elif isinstance(change, ResyncObject):
            resource, outcomes = self._object(change.key, None, None, change, force=True)
        elif isinstance(change, ItemChange | ResyncItem):
            resource, outcomes = self._item(change)
        else:
            raise TypeError(f"no change in entry {entry.event_id}")
        return ChangeResult(entry.event_id, resource, tuple(outcomes))

    def _object(
        self, key: str, alternate: str | None, etag: str | None, change: Change, *, force: bool
    ) -> tuple[str, list[TargetResult]]:
        targets = self._selected(change)
        resource = f"s3://{self._settings.source_bucket}/{key}"
        try:
            key, source = self._objects.resolve(key, alternate, etag)
        except TRANSIENT_ERRORS as exc:
            return resource, [
                TargetResult(t.environment, FAILED, f"reading the prod object failed: {describe(exc)}") for t in targets
            ]
        resource = f"s3://{self._settings.source_bucket}/{key}"
        if not key.startswith(self._settings.prefixes):
            reason = f"key is outside the replicated prefixes {self._settings.prefixes}"
            return resource, [TargetResult(t.environment, SKIPPED, reason) for t in targets]
        tags_only = isinstance(change, S3ObjectEvent) and change.tags_changed
        outcomes = self._apply_object(key, source, targets, tags_only=tags_only, force=force)
        # Another invocation may have handled a later change of this key while these writes were in flight and
        # found nothing to do yet; whoever writes last must see prod's state after its write, so read it again.
        for _ in range(SETTLE_ROUNDS):
            try:
                now = self._objects.current(key)
            except TRANSIENT_ERRORS as exc:
                reason = f"reading the prod object again after writing failed: {describe(exc)}"
                return resource, [_unconfirmed(o, reason) for o in outcomes]
            if same_source(now, source):
                return resource, outcomes
            logger.info(
                "prod object changed while it was replicated; applying its newer state",
                extra={"resource": resource, "deleted": now is None},
            )
            source = now
            outcomes = [
                _changed_meanwhile(o, "object")
                for o in self._apply_object(key, source, targets, tags_only=False, force=force)
            ]
        reason = f"the prod object changed {SETTLE_ROUNDS} times while it was replicated; retried later"
        return resource, [_unconfirmed(o, reason) for o in outcomes]

    def _apply_object(
        self,
        key: str,
        source: SourceObject | None,
        targets: list[ReplicationTarget],
        *,
        tags_only: bool,
        force: bool,
    ) -> list[TargetResult]:
        outcomes = []
        for target in targets:
            try:
                s3 = self._targets.get(target).s3
                if tags_only:
                    outcomes.append(self._objects.sync_tags(key, source, target, s3))
                else:
                    outcomes.append(self._objects.replicate(key, source, target, s3, force=force))
            except PERMANENT_ERRORS as exc:
                outcomes.append(TargetResult(target.environment, REFUSED, f"{describe(exc)}; nothing written"))
            except TRANSIENT_ERRORS as exc:
                outcomes.append(TargetResult(target.environment, FAILED, describe(exc)))
        return outcomes

    def _item(self, change: ItemChange | ResyncItem) -> tuple[str, list[TargetResult]]:
        targets = self._selected(change)
        resource = f"dynamodb://{self._settings.source_table}/{describe_key(change.keys)}"
        try:
            source = self._items.read_source(change.keys)
        except TRANSIENT_ERRORS as exc:
            return resource, [
                TargetResult(t.environment, FAILED, f"reading the prod item failed: {describe(exc)}") for t in targets
            ]
        outcomes = [self._apply_item(change, source, target) for target in targets]
        if source is None or not any(o.outcome == REPLICATED for o in outcomes):
            return resource, outcomes
        # A removal handled by another invocation while these writes were in flight found no replica to delete;
        # its sequence is newer, but a removed item leaves nothing to compare against, so look at prod again.
        try:
            now = self._items.read_source(change.keys)
        except TRANSIENT_ERRORS as exc:
            reason = f"reading the prod item again after writing failed: {describe(exc)}"
            return resource, [_unconfirmed(o, reason) if o.outcome == REPLICATED else o for o in outcomes]
        if now is not None:
            return resource, outcomes
        logger.info(
            "prod item was removed while it was replicated; removing the replicas written", extra={"resource": resource}
        )
        return resource, [
            _changed_meanwhile(self._apply_item(change, None, target), "item")
            if outcome.outcome == REPLICATED
            else outcome
            for target, outcome in zip(targets, outcomes, strict=True)
        ]

    def _apply_item(
        self, change: ItemChange | ResyncItem, source: dict[str, Any] | None, target: ReplicationTarget
    ) -> TargetResult:
        try:
            dynamodb = self._targets.get(target).dynamodb
            if isinstance(change, ResyncItem):
                return self._items.resync(change.keys, source, target, dynamodb, change.event_time)
            return self._items.replicate(change, source, target, dynamodb)
        except PERMANENT_ERRORS as exc:
            return TargetResult(target.environment, REFUSED, f"{describe(exc)}; nothing written")
        except TRANSIENT_ERRORS as exc:
            return TargetResult(target.environment, FAILED, describe(exc))

    def report(self, entry: Entry, resource: str, result: TargetResult, notifier: Notifier) -> None:
        """Log, measure and notify one target's success or skip; failures are reported per change by the caller."""
        if result.outcome in (FAILED, REFUSED):
            logger.warning("target not brought up to date", extra={"resource": resource, **result.as_dict()})
            return
        dims = {"TargetEnvironment": result.environment}
        extra = {"resource": resource, **result.as_dict()}
        if result.outcome in (REPLICATED, DELETED):
            event_time = getattr(entry.change, "event_time", None) or datetime.now(UTC)
            lag = max((datetime.now(UTC) - event_time).total_seconds(), 0.0)
            logger.info("replication succeeded", extra={**extra, "lag_seconds": lag})
            emit_metric("ReplicationSucceeded", 1, dimensions=dims)
            emit_metric("ReplicationLagSeconds", lag, SECONDS, dims)
            if result.bytes_copied:
                emit_metric("BytesCopied", result.bytes_copied, BYTES, dims)
        else:
            logger.info("replication skipped", extra=extra)
            emit_metric("ReplicationSkipped", 1, dimensions=dims)
        notifier.publish(
            Notification(
                outcome=result.outcome,
                environment=result.environment,
                source=SOURCE,
                resource=resource,
                correlation_id=entry.event_id,
                reason=result.reason,
                details={"source_environment": self._settings.environment, "rewritten": result.rewritten},
            )
        )


def describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', str(exc))} ({exc.operation_name})"
    return f"{type(exc).__name__}: {exc}"
