"""Errors raised by the pipeline-infra library. Every message says what was wrong and what was expected."""

from __future__ import annotations


class PipelineInfraError(Exception):
    """Base error of the pipeline_infra package."""


class SettingsError(PipelineInfraError):
    """shared_config/ is missing, unreadable or invalid."""


class UnknownEnvironmentError(SettingsError, KeyError):
    """An environment name that shared_config/ does not define (a KeyError too, for mapping-style callers)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NamingError(PipelineInfraError):
    """A resource name breaks an AWS naming rule."""


class StackConfigError(PipelineInfraError):
    """A stack's configuration lacks what its program needs (the environment, the function artifact)."""
