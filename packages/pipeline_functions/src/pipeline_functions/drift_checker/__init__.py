"""Finds drift between prod's replicated data and each lower environment, and replication paths switched off."""

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
from pipeline_functions.drift_checker.paths import ReplicationPath
from pipeline_functions.drift_checker.service import DriftChecker
from pipeline_functions.drift_checker.settings import DriftCheckerSettings
from pipeline_functions.drift_checker.wiring import PathCheck, check_paths

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
    "PathCheck",
    "ReplicationPath",
    "check_paths",
    "compare_environments",
    "first_difference",
]
