"""Errors of the guardrails check. Every message says what was wrong and what was expected."""

from __future__ import annotations

from pipeline_infra_tools.exceptions import ToolError


class GuardrailsError(ToolError):
    """Base error of the guardrails package: the rules could not be run, so nothing is reported."""


class GuardrailsUsageError(GuardrailsError):
    """The check cannot be run as asked (a layer the environment has no stack for)."""
