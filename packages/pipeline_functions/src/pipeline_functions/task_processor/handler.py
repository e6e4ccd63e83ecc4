"""Lambda entry point: ``pipeline_functions.task_processor.handler.lambda_handler`` (SQS task queue).

Returns partial batch failures: a bad message is retried on its own and reaches the task DLQ after the
queue's maxReceiveCount, while the rest of the batch is deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from pipeline_functions.shared.aws import client
from pipeline_functions.shared.telemetry import MILLISECONDS, emit_metric
from pipeline_functions.task_processor.tasks import Task, TaskRunner, TaskSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
# The whole batch failing is reported like any partial failure instead of raising, so Lambda keeps
# the messages' own receive counts and each one reaches the DLQ on its own schedule.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_runner: TaskRunner | None = None


def configure(runner: TaskRunner | None) -> None:
    """Use ``runner`` for later invocations (None: rebuild from the environment on the next one)."""
    global _runner  # noqa: PLW0603 - one runner per execution environment, reused while warm
    _runner = runner


def get_runner() -> TaskRunner:
    global _runner  # noqa: PLW0603
    if _runner is None:
        _runner = TaskRunner(TaskSettings.from_env(), client("dynamodb"))
    return _runner


def record_handler(record: SQSRecord) -> dict[str, Any]:
    runner = get_runner()
    dims = {"Environment": runner.settings.environment}
    logger.set_correlation_id(record.message_id)
    try:
        outcome = runner.run(Task.from_body(record.body))
    except Exception:
        logger.exception("task failed", extra={"message_id": record.message_id})
        emit_metric("TasksFailed", 1, dimensions=dims)
        raise  # the batch processor records it as this message's failure
    logger.info("task processed", extra={"key": outcome.key, "duration_ms": outcome.duration_ms})
    emit_metric("TasksProcessed", 1, dimensions=dims)
    if not outcome.already_processed:
        emit_metric("TaskDurationMs", outcome.duration_ms, MILLISECONDS, dims)
    return {"key": outcome.key, "status": outcome.status, "already_processed": outcome.already_processed}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
