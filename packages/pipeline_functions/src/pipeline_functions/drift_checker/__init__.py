"""Finds drift between prod's replicated data and each lower environment."""

from __future__ import annotations

from pipeline_functions.drift_checker.checker import DriftChecker
from pipeline_functions.drift_checker.compare import (
    Difference,
    DriftKind,
    DriftReport,
    EnvironmentDrift,
    EnvironmentStore,
    compare_environments,
    first_difference,
)
from pipeline_functions.drift_checker.exceptions import DriftCheckError

__all__ = [
    "Difference",
    "DriftCheckError",
    "DriftChecker",
    "DriftKind",
    "DriftReport",
    "EnvironmentDrift",
    "EnvironmentStore",
    "compare_environments",
    "first_difference",
]
