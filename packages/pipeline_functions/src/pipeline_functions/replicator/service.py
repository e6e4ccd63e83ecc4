"""The replicator: every record of an invocation handled on its own, every outcome logged, measured and notified.

- A good record is replicated to every target; success outcomes are notified per target.
- A bad record (malformed, another bucket, an unknown source) is rejected alone: a `rejected` notification,
  a log line naming its event id, and a dead letter; the other records still replicate.
- A change a target refuses (it cannot be rewritten) is dead-lettered at once with a `failed` notification.
- A change that fails for a reason that may pass (a target error) makes the invocation raise so Lambda retries
  it, with a `retrying` notification; on the last attempt it is dead-lettered with one `failed` notification
  that says how many attempts were made. A redriven dead letter or a resync request gets one attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.replicator.attempts import AttemptLedger
from pipeline_functions.replicator.changes import SOURCE, ChangeProcessor, ChangeResult, identity
from pipeline_functions.replicator.dead_letters import (
    REFUSED,
    REJECTED,
    RETRIES_EXHAUSTED,
    DeadLetter,
    DeadLetterQueue,
)
from pipeline_functions.replicator.events import Entry, ResyncItem, ResyncObject, parse_event
from pipeline_functions.replicator.exceptions import ReplicationFailedError
from pipeline_functions.replicator.results import FAILED
from pipeline_functions.replicator.results import REFUSED as REFUSED_OUTCOME
from pipeline_functions.shared.aws import client
from pipeline_functions.shared.notifications import Notification, Notifier
from pipeline_functions.shared.targets import (
    AssumeRoleCredentialsProvider,
    CredentialsProvider,
    TargetClientCache,
    own_credentials,
)
from pipeline_functions.shared.telemetry import emit_metric

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from pipeline_functions.replicator.settings import ReplicatorSettings

logger = Logger()


class _TransientFailure(ReplicationFailedError):
    """A change some target could not take now; carries the outcomes so the caller can report them."""

    def __init__(self, result: ChangeResult) -> None:
        super().__init__(result.describe())
        self.result = result


@dataclass
class _Invocation:
    context: LambdaContext | None
    results: list[dict[str, Any]] = field(default_factory=list)
    dead_lettered: list[dict[str, Any]] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)

    def response(self) -> dict[str, Any]:
        return {"results": self.results, "dead_lettered": self.dead_lettered}


class Replicator:
    """Replicates prod changes to every target. Every AWS client and the credentials provider are injectable."""

    def __init__(
        self,
        settings: ReplicatorSettings,
        *,
        s3_client: S3Client | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        sns_client: SNSClient | None = None,
        sqs_client: SQSClient | None = None,
        idempotency_client: DynamoDBClient | None = None,
        credentials_provider: CredentialsProvider | None = None,
    ) -> None:
        self.settings = settings
        dynamodb = dynamodb_client or client("dynamodb")
        if credentials_provider is None:
            credentials_provider = AssumeRoleCredentialsProvider() if settings.assume_roles else own_credentials
        self._changes = ChangeProcessor(
            settings, s3_client or client("s3"), dynamodb, TargetClientCache(credentials_provider)
        )
        self._notifier = Notifier(sns_client or client("sns"), settings.success_topic_arn, settings.failure_topic_arn)
        self._dead_letters: DeadLetterQueue | None = None
        if settings.dead_letter_queue_url:
            self._dead_letters = DeadLetterQueue(sqs_client or client("sqs"), settings.dead_letter_queue_url)
        else:
            logger.warning("DEAD_LETTER_QUEUE_URL is not set: a failing record fails its whole invocation")
        ledger_client = idempotency_client or dynamodb if settings.idempotency_table else None
        self._ledger = AttemptLedger(ledger_client, settings.idempotency_table, settings.idempotency_ttl_seconds)
        self._idempotency_config: IdempotencyConfig | None = None
        self._process: Callable[..., dict[str, Any]] = self._process_change
        if settings.idempotency_table:
            self._process = self._idempotent(settings.idempotency_table, idempotency_client or dynamodb)
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
        """Process every record in ``event``; raise only to have Lambda retry changes that may still succeed."""
        if context is not None and self._idempotency_config is not None:
            self._idempotency_config.register_lambda_context(context)
        invocation = _Invocation(context)
        for entry in parse_event(event).entries:
            logger.set_correlation_id(entry.event_id)
            rejection = entry.rejection or (self._changes.rejection(entry.change) if entry.change else None)
            if rejection is not None or entry.change is None:
                self._reject(entry, rejection or "no change", invocation)
                continue
            self._handle_change(entry, invocation)
        if invocation.retrying:
            raise ReplicationFailedError("; ".join(invocation.retrying))
        return invocation.response()

    def _handle_change(self, entry: Entry, invocation: _Invocation) -> None:
        # A redriven dead letter is an operator's explicit replay: it must run even if a result is remembered.
        process = self._process_change if entry.redriven else self._process
        try:
            summary = process(change=identity(entry), entry=entry)
        except _TransientFailure as exc:
            self._failed(entry, exc.result, invocation, transient=True)
            return
        invocation.results.append(summary)
        result = ChangeResult.from_summary(summary)
        if result.refused and not result.duplicate:
            self._failed(entry, result, invocation, transient=False)

    def _process_change(self, change: dict[str, Any], entry: Entry) -> dict[str, Any]:
        result = self._changes.process(entry)
        for outcome in result.outcomes:
            self._changes.report(entry, result.resource, outcome, self._notifier)
        if result.transient:
            # Raising keeps the idempotency layer from remembering a change that has not been made yet.
            raise _TransientFailure(result)
        return result.summary()

    def _failed(self, entry: Entry, result: ChangeResult, invocation: _Invocation, *, transient: bool) -> None:
        single_attempt = entry.redriven or isinstance(entry.change, ResyncObject | ResyncItem) or not transient
        attempt = entry.prior_attempts + 1
        final = single_attempt or self._dead_letters is None
        if not single_attempt:
            counted = self._ledger.record_failure(identity(entry))
            attempt = counted if counted is not None else attempt
            final = final or counted is None or counted >= self.settings.async_max_attempts
        failing = [o for o in result.outcomes if o.outcome in (FAILED, REFUSED_OUTCOME)]
        outcome = "failed" if final else "retrying"
        for target in failing:
            logger.error(
                "replication failed" if final else "replication attempt failed; Lambda retries it",
                extra={"resource": result.resource, "attempt": attempt, **target.as_dict(), "outcome": outcome},
            )
            metric = "ReplicationFailed" if final else "ReplicationRetrying"
            emit_metric(metric, 1, dimensions={"TargetEnvironment": target.environment})
            self._notifier.publish(
                Notification(
                    outcome=outcome,
                    environment=target.environment,
                    source=SOURCE,
                    resource=result.resource,
                    correlation_id=entry.event_id,
                    reason=target.reason,
                    details={
                        "source_environment": self.settings.environment,
                        "attempts": attempt,
                        "max_attempts": 1 if single_attempt else self.settings.async_max_attempts,
                        "refused": target.outcome == REFUSED_OUTCOME,
                    },
                )
            )
        if not final:
            invocation.retrying.append(result.describe())
            return
        if self._dead_letters is None:
            raise ReplicationFailedError(result.describe())
        condition = RETRIES_EXHAUSTED if transient else REFUSED
        letter = DeadLetter(
            entry.event_id, entry.payload, condition, attempt, "ReplicationFailedError", result.describe()
        )
        self._dead_letter(self._dead_letters, letter, invocation)

    def _reject(self, entry: Entry, reason: str, invocation: _Invocation) -> None:
        if not entry.redriven and not self._ledger.first_rejection({"record": entry.payload}):
            # Lambda is retrying this invocation for another record's sake: this one was dead-lettered already.
            logger.info("record already rejected by an earlier attempt", extra={"event_id": entry.event_id})
            return
        logger.error("event rejected", extra={"event_id": entry.event_id, "reason": reason, "outcome": "rejected"})
        emit_metric("EventRejected", 1, dimensions={"Environment": self.settings.environment})
        self._notifier.publish(
            Notification("rejected", self.settings.environment, SOURCE, "event", entry.event_id, reason)
        )
        if self._dead_letters is None:
            # Without a queue of its own, failing the invocation is the only way the record reaches a DLQ.
            invocation.retrying.append(f"{entry.event_id}: {reason}")
            return
        letter = DeadLetter(
            entry.event_id, entry.payload, REJECTED, entry.prior_attempts + 1, "UnsupportedEventError", reason
        )
        self._dead_letter(self._dead_letters, letter, invocation)

    @staticmethod
    def _dead_letter(queue: DeadLetterQueue, letter: DeadLetter, invocation: _Invocation) -> None:
        queue.send(letter, invocation.context)
        emit_metric("DeadLettered", 1, dimensions={"Condition": letter.condition})
        logger.info("dead-lettered", extra=letter.summary())
        invocation.dead_lettered.append(letter.summary())


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    logger.info(
        "duplicate delivery: already processed, nothing written",
        extra={"idempotency_key": idempotent_data.idempotency_key},
    )
    if isinstance(response, dict):
        return {**response, "duplicate": True}
    return response
