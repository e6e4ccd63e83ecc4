"""Errors raised by pipeline_functions. Every message says what was wrong and what was expected."""

from __future__ import annotations


class PipelineFunctionsError(Exception):
    """Base error of the pipeline_functions package."""


class ConfigurationError(PipelineFunctionsError):
    """An environment variable the function needs is missing or does not hold the expected value."""


class MalformedEventError(PipelineFunctionsError):
    """An invocation event does not have the shape or source the function accepts."""


class RewriteError(PipelineFunctionsError):
    """A rewritten document still names a source (prod) identifier."""


class UnparseableDocumentError(PipelineFunctionsError):
    """An object that should be JSON or YAML could not be parsed; it is copied unchanged instead."""
