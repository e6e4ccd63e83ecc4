"""Errors of the drift comparison. Every message says what was wrong and what was expected."""

from __future__ import annotations

from pipeline_infra_tools.exceptions import ToolError


class DriftError(ToolError):
    """Base error of the drift package: the comparison could not be made, so no report is given."""


class DriftUsageError(DriftError):
    """The request cannot be answered as asked (unknown environment, nothing to compare, no sandbox)."""


class LiveStateError(DriftError):
    """Deployed state could not be read: a saved stack file or the sandbox state is unreadable."""
