"""Errors raised by pipeline-infra. Every message says what was wrong and what was expected."""

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


class ProjectError(PipelineInfraError):
    """A Pulumi project is missing, misconfigured or pinned to a library version that is not built."""


class ProgramError(PipelineInfraError):
    """A Pulumi program failed while it ran under the mock runtime."""


class DeployError(PipelineInfraError):
    """A deploy, preview or destroy could not go on; the message names what is missing and how to fix it."""


class UnsupportedResourceError(DeployError):
    """The local target was asked to create a resource type it does not emulate."""
