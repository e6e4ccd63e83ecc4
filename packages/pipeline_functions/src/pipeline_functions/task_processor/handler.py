"""Lambda entry point: ``pipeline_functions.task_processor.handler.lambda_handler`` (SQS task queue).

Returns partial batch failures: a bad message is retried on its own and reaches the task DLQ after the
queue's maxReceiveCount, while the rest of the batch is deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.shared.warm import WarmInstance
from pipeline_functions.task_processor.service import TaskRunner
from pipeline_functions.task_processor.settings import TaskSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def build_service() -> TaskRunner:
    """The TaskRunner this execution environment's variables describe."""
    return TaskRunner(TaskSettings.from_env())


service = WarmInstance(build_service)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.get().handle(event, context)
