"""Lambda entry point: ``pipeline_functions.replicator.handler.lambda_handler``.

Runs in prod as an EventBridge rule target (S3 object events and the config table Pipe's events) with async
retries and an on-failure destination; a raised error is what sends an event there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.replicator.service import Replicator
from pipeline_functions.replicator.settings import ReplicatorSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
_replicator: Replicator | None = None


def configure(replicator: Replicator | None) -> None:
    """Use ``replicator`` for later invocations (None: rebuild from the environment on the next one).

    This is how a runtime that must supply writer credentials itself (e.g. assumed before IAM enforcement
    starts) injects a Replicator built with ``credentials_provider=StaticCredentialsProvider(...)``.
    """
    global _replicator  # noqa: PLW0603 - one Replicator per execution environment, reused while warm
    _replicator = replicator


def get_replicator() -> Replicator:
    global _replicator  # noqa: PLW0603
    if _replicator is None:
        _replicator = Replicator(ReplicatorSettings.from_env())
    return _replicator


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any] | list[Any], context: LambdaContext) -> dict[str, Any]:
    return get_replicator().handle(event, context)
