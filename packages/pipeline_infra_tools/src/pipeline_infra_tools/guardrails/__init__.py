"""Guardrails as code: one rule set, run by the Pulumi engine (a policy pack) and offline (`policy check`).

This module and the rules import nothing but the standard library, so the policy pack's own interpreter can
load them; the offline runner (`guardrails.check`, which renders) and the pack adapter (`guardrails.pack`,
which needs pulumi-policy) are imported by name where they are used.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_infra_tools.guardrails.exceptions import GuardrailsError, GuardrailsUsageError
from pipeline_infra_tools.guardrails.graph import document_resources, stack_resources
from pipeline_infra_tools.guardrails.model import Evaluation, Finding, Resource, ResourceRule, Rule, StackRule, evaluate
from pipeline_infra_tools.guardrails.resource_rules import REQUIRED_TAGS, TAGGABLE_TYPES
from pipeline_infra_tools.guardrails.rules import RULES, rule_named

POLICY_PACK_DIR = Path(__file__).resolve().parent / "policy_pack"
"""The policy pack directory the aws target hands to `preview` and `up` (PulumiPolicy.yaml, __main__.py)."""

__all__ = [
    "POLICY_PACK_DIR",
    "REQUIRED_TAGS",
    "RULES",
    "TAGGABLE_TYPES",
    "Evaluation",
    "Finding",
    "GuardrailsError",
    "GuardrailsUsageError",
    "Resource",
    "ResourceRule",
    "Rule",
    "StackRule",
    "document_resources",
    "evaluate",
    "rule_named",
    "stack_resources",
]
