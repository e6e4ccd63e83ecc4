"""The guardrails as a Pulumi policy pack: every rule becomes one mandatory policy of the same name.

A resource rule becomes a `ResourceValidationPolicy` (run on each resource before the engine creates or
updates it), a stack rule a `StackValidationPolicy` (run on the whole stack). Each policy turns the engine's
arguments into `Resource`s and reports exactly the findings the offline check would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from pipeline_infra_tools.guardrails.model import Resource, ResourceRule
from pipeline_infra_tools.guardrails.rules import RULES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pulumi_policy import (
        Policy,
        PolicyProviderResource,
        ReportViolation,
        ResourceValidation,
        ResourceValidationArgs,
        StackValidation,
        StackValidationArgs,
    )

    from pipeline_infra_tools.guardrails.model import Rule, StackRule

PACK_NAME = "pipeline-infra-guardrails"


def _provider_inputs(provider: PolicyProviderResource | None) -> dict[str, object] | None:
    return dict(provider.props) if provider is not None else None


def resource_from_args(args: ResourceValidationArgs) -> Resource:
    """The resource about to be created or updated: its inputs, options and provider."""
    return Resource(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        inputs=args.props,
        provider_inputs=_provider_inputs(args.provider),
        protect=args.opts.protect,
    )


def stack_from_args(args: StackValidationArgs) -> list[Resource]:
    """Every resource of the stack, in the engine's order, with the URNs each depends on."""
    return [
        Resource(
            urn=resource.urn,
            type=resource.resource_type,
            name=resource.name,
            inputs=resource.props,
            provider_inputs=_provider_inputs(resource.provider),
            protect=resource.opts.protect,
            dependencies=frozenset(dependency.urn for dependency in resource.dependencies),
            position=position,
        )
        for position, resource in enumerate(args.resources)
    ]


def _resource_validation(rule: ResourceRule) -> ResourceValidation:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = resource_from_args(args)
        if rule.applies_to(resource):
            for finding in rule.findings([resource]):
                report_violation(finding.reason, None)

    return validate


def _stack_validation(rule: StackRule) -> StackValidation:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for finding in rule.findings(stack_from_args(args)):
            report_violation(finding.reason, finding.resource.urn)

    return validate


def policy(rule: Rule) -> Policy:
    """The mandatory Pulumi policy that runs `rule`."""
    if isinstance(rule, ResourceRule):
        return ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=_resource_validation(rule),
            enforcement_level=EnforcementLevel.MANDATORY,
        )
    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=_stack_validation(rule),
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def policies(rules: Sequence[Rule] = RULES) -> list[Policy]:
    return [policy(rule) for rule in rules]


def serve() -> None:
    """Start the pack's analyzer for the engine. Never returns: `PolicyPack` serves until the engine stops it."""
    PolicyPack(PACK_NAME, policies(), enforcement_level=EnforcementLevel.MANDATORY)
