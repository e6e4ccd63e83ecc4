"""Lambda entry point: ``pipeline_functions.validator.handler.lambda_handler`` (S3 raw/ uploads, every env)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.validator.service import Validator, ValidatorSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
_validator: Validator | None = None


def configure(validator: Validator | None) -> None:
    """Use ``validator`` for later invocations (None: rebuild from the environment on the next one)."""
    global _validator  # noqa: PLW0603 - one Validator per execution environment, reused while warm
    _validator = validator


def get_validator() -> Validator:
    global _validator  # noqa: PLW0603
    if _validator is None:
        _validator = Validator(ValidatorSettings.from_env())
    return _validator


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return get_validator().handle(event)
