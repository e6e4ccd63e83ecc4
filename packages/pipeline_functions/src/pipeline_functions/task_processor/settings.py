"""The task processor's configuration, read once from the environment the infrastructure sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline_functions import constants as c
from pipeline_functions.shared.config import require_str

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class TaskSettings:
    """The environment's name (a metric dimension) and the metadata table whose items the tasks advance."""

    environment: str
    metadata_table: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TaskSettings:
        """Read the settings; raises ConfigurationError naming the first variable that is missing or invalid."""
        return cls(
            environment=require_str(c.ENVIRONMENT_ENV, environ),
            metadata_table=require_str(c.METADATA_TABLE_ENV, environ),
        )
