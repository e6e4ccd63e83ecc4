"""Errors of the drift checker."""

from __future__ import annotations

from pipeline_functions.exceptions import PipelineFunctionsError


class DriftCheckerError(PipelineFunctionsError):
    """Base error of the drift checker."""


class DriftCheckError(DriftCheckerError):
    """An environment could not be read, so the comparison is incomplete (never reported as 'no drift')."""
