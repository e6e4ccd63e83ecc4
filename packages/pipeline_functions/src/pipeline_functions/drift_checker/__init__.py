"""Finds drift between prod's replicated data and each lower environment."""

from __future__ import annotations

from pipeline_functions.drift_checker.compare import (
    Difference,
    DriftKind,
    DriftReport,
    EnvironmentDrift,
    EnvironmentStore,
    compare_environments,
    first_difference,
)
from pipeline_functions.drift_checker.exceptions import DriftCheckerError, DriftCheckError
from pipeline_functions.drift_checker.service import DriftChecker
from pipeline_functions.drift_checker.settings import DriftCheckerSettings

__all__ = [
    "Difference",
    "DriftCheckError",
    "DriftChecker",
    "DriftCheckerError",
    "DriftCheckerSettings",
    "DriftKind",
    "DriftReport",
    "EnvironmentDrift",
    "EnvironmentStore",
    "compare_environments",
    "first_difference",
]
