"""Validates raw/ uploads against schemas/<dataset>.json and records the result in the metadata table."""

from __future__ import annotations

from pipeline_functions.validator.exceptions import InvalidFileError, ValidatorError
from pipeline_functions.validator.schema import RecordValidator
from pipeline_functions.validator.service import ValidationResult, Validator, dataset_of
from pipeline_functions.validator.settings import ValidatorSettings

__all__ = [
    "InvalidFileError",
    "RecordValidator",
    "ValidationResult",
    "Validator",
    "ValidatorError",
    "ValidatorSettings",
    "dataset_of",
]
