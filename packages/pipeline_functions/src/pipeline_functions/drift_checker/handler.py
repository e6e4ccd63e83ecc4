"""Lambda entry point: ``pipeline_functions.drift_checker.handler.lambda_handler`` (scheduled, prod)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.drift_checker.checker import DriftChecker
from pipeline_functions.replicator.settings import ReplicatorSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
_checker: DriftChecker | None = None


def configure(checker: DriftChecker | None) -> None:
    """Use ``checker`` for later invocations (None: rebuild from the environment on the next one)."""
    global _checker  # noqa: PLW0603 - one checker per execution environment, reused while warm
    _checker = checker


def get_checker() -> DriftChecker:
    global _checker  # noqa: PLW0603
    if _checker is None:
        _checker = DriftChecker(ReplicatorSettings.from_env())
    return _checker


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_id = str(event.get("id", "")) if isinstance(event, dict) else ""
    return get_checker().run(event_id).to_dict()
