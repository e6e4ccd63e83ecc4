"""Errors of the validator."""

from __future__ import annotations

from pipeline_functions.exceptions import PipelineFunctionsError


class ValidatorError(PipelineFunctionsError):
    """Base error of the validator."""


class InvalidFileError(ValidatorError):
    """The file cannot be validated at all (empty, not UTF-8, unparseable, unknown format, no schema)."""


class ObjectGoneError(ValidatorError):
    """The uploaded object was deleted between its event and the read; there is nothing left to validate."""
