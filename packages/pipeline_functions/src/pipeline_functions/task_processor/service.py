"""Processing the task queue: the metadata item of each VALID file becomes PROCESSED, with how long that took.

A batch reports partial failures: a bad message is retried on its own and reaches the task DLQ after the
queue's maxReceiveCount, while the rest of the batch is deleted.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from botocore.exceptions import ClientError

from pipeline_functions.shared.aws import client
from pipeline_functions.shared.s3events import parse_time
from pipeline_functions.shared.telemetry import MILLISECONDS, emit_metric
from pipeline_functions.task_processor.exceptions import InvalidTaskError, TaskStateError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

    from pipeline_functions.task_processor.settings import TaskSettings

logger = Logger()
VALID = "VALID"
PROCESSED = "PROCESSED"


@dataclass(frozen=True)
class Task:
    key: str
    bucket: str | None
    dataset: str | None
    validated_at: str | None

    @classmethod
    def from_body(cls, body: str | None) -> Task:
        try:
            raw = json.loads(body or "")
        except json.JSONDecodeError as exc:
            raise InvalidTaskError(f"message body is not JSON: {exc.msg}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str) or not raw["key"]:
            raise InvalidTaskError("message body has no 'key' (expected the validated object's key)")
        return cls(raw["key"], raw.get("bucket"), raw.get("dataset"), raw.get("validated_at"))


@dataclass(frozen=True)
class TaskOutcome:
    key: str
    status: str
    duration_ms: float
    already_processed: bool = False


class TaskRunner:
    """Marks validated files PROCESSED; the DynamoDB client is injectable so tests point it at an emulator."""

    def __init__(self, settings: TaskSettings, dynamodb_client: DynamoDBClient | None = None) -> None:
        self.settings = settings
        self._dynamodb = dynamodb_client or client("dynamodb")
        # The whole batch failing is reported like any partial failure instead of raising, so Lambda keeps
        # the messages' own receive counts and each one reaches the DLQ on its own schedule.
        self._batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle(self, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        """Process an SQS batch; the response lists only the messages that failed (``batchItemFailures``)."""
        response = process_partial_response(
            event=event, record_handler=self.process_record, processor=self._batch, context=context
        )
        return dict(response)

    def process_record(self, record: SQSRecord) -> dict[str, Any]:
        """One message: log, measure and return its outcome; a raised error fails only this message."""
        dims = {"Environment": self.settings.environment}
        logger.set_correlation_id(record.message_id)
        try:
            outcome = self.run(Task.from_body(record.body))
        except Exception:
            logger.exception("task failed", extra={"message_id": record.message_id})
            emit_metric("TasksFailed", 1, dimensions=dims)
            raise  # the batch processor records it as this message's failure
        logger.info("task processed", extra={"key": outcome.key, "duration_ms": outcome.duration_ms})
        emit_metric("TasksProcessed", 1, dimensions=dims)
        if not outcome.already_processed:
            emit_metric("TaskDurationMs", outcome.duration_ms, MILLISECONDS, dims)
        return {"key": outcome.key, "status": outcome.status, "already_processed": outcome.already_processed}

    def run(self, task: Task) -> TaskOutcome:
        """Advance one task's metadata item from VALID to PROCESSED (a redelivery succeeds without a write)."""
        started = time.perf_counter()
        item = self._dynamodb.get_item(
            TableName=self.settings.metadata_table, Key={"pk": {"S": task.key}}, ConsistentRead=True
        ).get("Item")
        if not item:
            raise TaskStateError(f"no metadata item for {task.key!r}; the validator writes it before queueing")
        status = item.get("status", {}).get("S")
        if status == PROCESSED:
            # A redelivered message: the work is done, so succeed without writing again.
            return TaskOutcome(task.key, PROCESSED, float(item.get("duration_ms", {}).get("N", 0)), True)
        if status != VALID:
            raise TaskStateError(
                f"metadata item for {task.key!r} has status {status!r}; only VALID files are processed"
            )
        now = datetime.now(UTC)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        values: dict[str, Any] = {
            ":processed": {"S": PROCESSED},
            ":valid": {"S": VALID},
            ":at": {"S": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
            ":duration": {"N": str(duration_ms)},
        }
        expression = "SET #status = :processed, processed_at = :at, duration_ms = :duration"
        if task.validated_at:
            latency = max((now - parse_time(task.validated_at)).total_seconds(), 0.0)
            values[":latency"] = {"N": f"{latency:.3f}"}
            expression += ", latency_seconds = :latency"
        try:
            self._dynamodb.update_item(
                TableName=self.settings.metadata_table,
                Key={"pk": {"S": task.key}},
                UpdateExpression=expression,
                ConditionExpression="#status = :valid",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                # Another delivery of the same task got there first.
                return TaskOutcome(task.key, PROCESSED, duration_ms, True)
            raise
        return TaskOutcome(task.key, PROCESSED, duration_ms)
