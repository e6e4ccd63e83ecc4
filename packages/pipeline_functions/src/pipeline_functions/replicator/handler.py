"""Lambda entry point: ``pipeline_functions.replicator.handler.lambda_handler``.

Runs in prod as an EventBridge rule target (S3 object events and the config table Pipe's events) with async
retries and an on-failure destination; a raised error is what sends an event there.

A runtime that must supply writer credentials itself (e.g. assumed before IAM enforcement starts) puts its own
Replicator in place with ``service.override(Replicator(..., credentials_provider=StaticCredentialsProvider(...)))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.replicator.service import Replicator
from pipeline_functions.replicator.settings import ReplicatorSettings
from pipeline_functions.shared.warm import WarmInstance

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def build_service() -> Replicator:
    """The Replicator this execution environment's variables describe."""
    return Replicator(ReplicatorSettings.from_env())


service = WarmInstance(build_service)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any] | list[Any], context: LambdaContext) -> dict[str, Any]:
    return service.get().handle(event, context)
