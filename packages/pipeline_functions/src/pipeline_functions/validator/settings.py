"""The validator's configuration, read once from the environment the infrastructure sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline_functions import constants as c
from pipeline_functions.shared.config import optional_str, require_str

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class ValidatorSettings:
    """Where results are recorded, where valid files are queued, and who hears about invalid ones."""

    environment: str
    metadata_table: str
    task_queue_url: str
    success_topic_arn: str | None = None
    failure_topic_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ValidatorSettings:
        """Read the settings; raises ConfigurationError naming the first variable that is missing or invalid."""
        return cls(
            environment=require_str(c.ENVIRONMENT_ENV, environ),
            metadata_table=require_str(c.METADATA_TABLE_ENV, environ),
            task_queue_url=require_str(c.TASK_QUEUE_URL_ENV, environ),
            success_topic_arn=optional_str(c.SUCCESS_TOPIC_ARN_ENV, environ),
            failure_topic_arn=optional_str(c.FAILURE_TOPIC_ARN_ENV, environ),
        )
