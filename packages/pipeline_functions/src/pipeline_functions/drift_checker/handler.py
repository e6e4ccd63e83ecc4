"""Lambda entry point: ``pipeline_functions.drift_checker.handler.lambda_handler`` (scheduled, prod)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.drift_checker.service import DriftChecker
from pipeline_functions.drift_checker.settings import DriftCheckerSettings
from pipeline_functions.shared.warm import WarmInstance

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def build_service() -> DriftChecker:
    """The DriftChecker this execution environment's variables describe."""
    return DriftChecker(DriftCheckerSettings.from_env())


service = WarmInstance(build_service)


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.get().handle(event)
