"""The guardrails as data: every rule, in the order reports list them. Both runners take this one tuple.

`pipeline-infra policy check` runs it over an environment's rendered graph; the policy pack in `policy_pack/`
turns each rule into a mandatory Pulumi policy that the aws target's `preview` and `up` run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_infra_tools.guardrails.network_rules import NETWORK_RULES
from pipeline_infra_tools.guardrails.resource_rules import RESOURCE_RULES
from pipeline_infra_tools.guardrails.stack_rules import STACK_RULES

if TYPE_CHECKING:
    from pipeline_infra_tools.guardrails.model import Rule

_ORDER = (
    "s3-encryption",
    "s3-public-access-block",
    "s3-tls-only",
    "sns-encryption",
    "sqs-encryption",
    "iam-no-wildcard-actions",
    "default-tags",
    "destroyable",
    "log-retention",
    "eventbridge-target-dlq",
    "pipe-source-dlq",
    "lambda-async-on-failure",
    "sqs-source-redrive",
    "log-group-before-function",
    "lambda-in-vpc",
    "endpoint-policy-resources",
)

RULES: tuple[Rule, ...] = tuple(
    sorted((*RESOURCE_RULES, *STACK_RULES, *NETWORK_RULES), key=lambda rule: _ORDER.index(rule.name))
)


def rule_named(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(f"no guardrail named {name!r}; rules: {[rule.name for rule in RULES]}")
