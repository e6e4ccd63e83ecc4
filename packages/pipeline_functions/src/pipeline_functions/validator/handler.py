"""Lambda entry point: ``pipeline_functions.validator.handler.lambda_handler`` (S3 raw/ uploads, every env)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.shared.warm import WarmInstance
from pipeline_functions.validator.service import Validator
from pipeline_functions.validator.settings import ValidatorSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def build_service() -> Validator:
    """The Validator this execution environment's variables describe."""
    return Validator(ValidatorSettings.from_env())


service = WarmInstance(build_service)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return service.get().handle(event)
