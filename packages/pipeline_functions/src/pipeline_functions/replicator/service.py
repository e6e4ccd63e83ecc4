"""The replicator: one change in, every target brought up to date, every outcome logged, measured and notified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pipeline_functions.exceptions import PipelineFunctionsError
from pipeline_functions.replicator.events import ItemChange, parse_event
from pipeline_functions.replicator.exceptions import ReplicationFailedError, UnsupportedEventError
from pipeline_functions.replicator.items import ItemReplicator, describe_key
from pipeline_functions.replicator.objects import ObjectReplicator
from pipeline_functions.replicator.results import DELETED, FAILED, REPLICATED, SKIPPED, TargetResult
from pipeline_functions.shared.aws import client
from pipeline_functions.shared.notifications import Notification, Notifier
from pipeline_functions.shared.s3events import S3ObjectEvent
from pipeline_functions.shared.targets import (
    AssumeRoleCredentialsProvider,
    CredentialsProvider,
    TargetClientCache,
    own_credentials,
)
from pipeline_functions.shared.telemetry import BYTES, SECONDS, emit_metric

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

    from pipeline_functions.replicator.settings import ReplicatorSettings

logger = Logger()
SOURCE = "replicator"
# Errors that mean "this target could not be written now": reported per target, then raised for a retry.
TARGET_ERRORS = (ClientError, BotoCoreError, PipelineFunctionsError)


class Replicator:
    """Replicates prod changes to every target. Every AWS client and the credentials provider are injectable."""

    def __init__(
        self,
        settings: ReplicatorSettings,
        *,
        s3_client: S3Client | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        sns_client: SNSClient | None = None,
        idempotency_client: DynamoDBClient | None = None,
        credentials_provider: CredentialsProvider | None = None,
    ) -> None:
        self.settings = settings
        self._s3 = s3_client or client("s3")
        self._dynamodb = dynamodb_client or client("dynamodb")
        if credentials_provider is None:
            credentials_provider = AssumeRoleCredentialsProvider() if settings.assume_roles else own_credentials
        self._targets = TargetClientCache(credentials_provider)
        self._objects = ObjectReplicator(settings, self._s3)
        self._items = ItemReplicator(settings, self._dynamodb)
        self._notifier = Notifier(sns_client or client("sns"), settings.success_topic_arn, settings.failure_topic_arn)
        self._idempotency_config: IdempotencyConfig | None = None
        self._process: Callable[..., dict[str, Any]] = self._process_change
        if settings.idempotency_table:
            self._process = self._idempotent(settings.idempotency_table, idempotency_client or self._dynamodb)
        else:
            logger.warning("IDEMPOTENCY_TABLE is not set: duplicate deliveries are replicated again")

    def _idempotent(self, table: str, dynamodb: DynamoDBClient) -> Callable[..., dict[str, Any]]:
        # Imported here: idempotency pulls in jmespath and hashing helpers that only this path needs.
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        config = IdempotencyConfig(
            expires_after_seconds=self.settings.idempotency_ttl_seconds, response_hook=_mark_duplicate
        )
        self._idempotency_config = config
        persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)
        return idempotent_function(
            self._process_change, data_keyword_argument="change", persistence_store=persistence, config=config
        )

    def handle(self, event: Any, context: LambdaContext | None = None) -> dict[str, Any]:
        """Process every change in ``event``; raise if any change failed or any part of it was unusable."""
        if context is not None and self._idempotency_config is not None:
            self._idempotency_config.register_lambda_context(context)
        parsed = parse_event(event)
        results: list[dict[str, Any]] = []
        failures: list[str] = []
        for change in parsed.changes:
            logger.set_correlation_id(change.event_id)
            rejection = self._reject_reason(change)
            if rejection:
                parsed.rejected.append((change.event_id, rejection))
                continue
            try:
                results.append(self._process(change=_identity(change), parsed=change))
            except ReplicationFailedError as exc:
                failures.append(str(exc))
        for event_id, reason in parsed.rejected:
            logger.set_correlation_id(event_id)
            logger.error("event rejected", extra={"reason": reason, "outcome": "rejected"})
            emit_metric("EventRejected", 1, dimensions={"Environment": self.settings.environment})
            self._notifier.publish(
                Notification("rejected", self.settings.environment, SOURCE, "event", event_id, reason)
            )
        if failures:
            raise ReplicationFailedError("; ".join(failures))
        if parsed.rejected:
            raise UnsupportedEventError("; ".join(f"{event_id}: {reason}" for event_id, reason in parsed.rejected))
        return {"results": results}

    def _reject_reason(self, change: S3ObjectEvent | ItemChange) -> str | None:
        if isinstance(change, S3ObjectEvent) and change.bucket != self.settings.source_bucket:
            return f"event is for bucket {change.bucket!r}; this replicator replicates {self.settings.source_bucket!r}"
        if isinstance(change, ItemChange) and change.table_name not in (None, self.settings.source_table):
            return f"stream record is from table {change.table_name!r}; expected {self.settings.source_table!r}"
        return None

    def _process_change(self, change: dict[str, Any], parsed: S3ObjectEvent | ItemChange) -> dict[str, Any]:
        if isinstance(parsed, S3ObjectEvent):
            resource, outcomes = self._replicate_object(parsed)
        else:
            resource, outcomes = self._replicate_item(parsed)
        for outcome in outcomes:
            self._report(parsed, resource, outcome)
        failed = [o for o in outcomes if o.outcome == FAILED]
        if failed:
            raise ReplicationFailedError(
                f"{resource}: " + ", ".join(f"{o.environment} failed ({o.reason})" for o in failed)
            )
        return {
            "event_id": parsed.event_id,
            "resource": resource,
            "targets": [o.as_dict() for o in outcomes],
            "duplicate": False,
        }

    def _replicate_object(self, change: S3ObjectEvent) -> tuple[str, list[TargetResult]]:
        resource = f"s3://{self.settings.source_bucket}/{change.key}"
        try:
            key, source = self._objects.resolve(change)
        except TARGET_ERRORS as exc:
            return resource, self._all_failed(f"reading the prod object failed: {exc}")
        resource = f"s3://{self.settings.source_bucket}/{key}"
        if not key.startswith(self.settings.prefixes):
            return resource, [
                TargetResult(t.environment, SKIPPED, f"key is outside the replicated prefixes {self.settings.prefixes}")
                for t in self.settings.targets
            ]
        outcomes = []
        for target in self.settings.targets:
            try:
                s3 = self._targets.get(target).s3
                outcomes.append(self._objects.replicate(key, source, target, s3))
            except TARGET_ERRORS as exc:
                outcomes.append(TargetResult(target.environment, FAILED, _describe(exc)))
        return resource, outcomes

    def _replicate_item(self, change: ItemChange) -> tuple[str, list[TargetResult]]:
        resource = f"dynamodb://{self.settings.source_table}/{describe_key(change.keys)}"
        try:
            source = self._items.read_source(change)
        except TARGET_ERRORS as exc:
            return resource, self._all_failed(f"reading the prod item failed: {exc}")
        outcomes = []
        for target in self.settings.targets:
            try:
                dynamodb = self._targets.get(target).dynamodb
                outcomes.append(self._items.replicate(change, source, target, dynamodb))
            except TARGET_ERRORS as exc:
                outcomes.append(TargetResult(target.environment, FAILED, _describe(exc)))
        return resource, outcomes

    def _all_failed(self, reason: str) -> list[TargetResult]:
        return [TargetResult(t.environment, FAILED, reason) for t in self.settings.targets]

    def _report(self, change: S3ObjectEvent | ItemChange, resource: str, result: TargetResult) -> None:
        dims = {"TargetEnvironment": result.environment}
        extra = {"resource": resource, **result.as_dict()}
        if result.outcome in (REPLICATED, DELETED):
            lag = max((datetime.now(UTC) - change.event_time).total_seconds(), 0.0)
            logger.info("replication succeeded", extra={**extra, "lag_seconds": lag})
            emit_metric("ReplicationSucceeded", 1, dimensions=dims)
            emit_metric("ReplicationLagSeconds", lag, SECONDS, dims)
            if result.bytes_copied:
                emit_metric("BytesCopied", result.bytes_copied, BYTES, dims)
        elif result.outcome == SKIPPED:
            logger.info("replication skipped", extra=extra)
            emit_metric("ReplicationSkipped", 1, dimensions=dims)
        else:
            logger.error("replication failed", extra=extra)
            emit_metric("ReplicationFailed", 1, dimensions=dims)
        self._notifier.publish(
            Notification(
                outcome=result.outcome,
                environment=result.environment,
                source=SOURCE,
                resource=resource,
                correlation_id=change.event_id,
                reason=result.reason,
                details={"source_environment": self.settings.environment, "rewritten": result.rewritten},
            )
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', str(exc))} ({exc.operation_name})"
    return f"{type(exc).__name__}: {exc}"


def _identity(change: S3ObjectEvent | ItemChange) -> dict[str, Any]:
    """What makes two deliveries the same change (event ids differ between S3's own duplicate events)."""
    if isinstance(change, S3ObjectEvent):
        return {
            "kind": "object",
            "type": change.detail_type,
            "bucket": change.bucket,
            "key": change.key,
            "version": change.version_id or change.sequencer or change.etag or change.event_id,
        }
    return {"kind": "item", "keys": change.keys, "sequence": change.sequence, "event": change.event_name}


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    logger.info(
        "duplicate delivery: already processed, nothing written",
        extra={"idempotency_key": idempotent_data.idempotency_key},
    )
    if isinstance(response, dict):
        return {**response, "duplicate": True}
    return response
