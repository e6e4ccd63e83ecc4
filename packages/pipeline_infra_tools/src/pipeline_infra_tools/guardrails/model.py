"""What a rule sees and says: one resource as the engine or a rendering gives it, and a finding about it.

A rule never knows which runner called it. The Pulumi policy pack builds `Resource`s from the engine's
arguments, the offline check from a rendered graph; both hand them to the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence


@dataclass(frozen=True, kw_only=True)
class Resource:
    """One resource: its type token, logical name, URN and the inputs (or, after an update, outputs) it has."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    """camelCase properties, as the engine sends them to the provider."""
    provider_inputs: Mapping[str, Any] | None = None
    """The inputs of the provider the resource uses (default tags live there); None when it has none."""
    protect: bool | None = None
    """The `protect` option; None when the source does not record options (a rendering does not)."""
    dependencies: frozenset[str] | None = None
    """URNs the resource waits for; None when unknown, and then `position` stands in for creation order."""
    position: int = 0
    """Order of registration within its stack."""

    @property
    def stack(self) -> str:
        """`<stack>::<project>` from the URN: resources of one Pulumi stack share it."""
        parts = self.urn.split("::")
        return f"{parts[0].removeprefix('urn:pulumi:')}::{parts[1]}" if len(parts) > 2 else ""

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one resource: the rule's name, the resource and why it fails."""

    rule: str
    resource: Resource
    reason: str


@dataclass(frozen=True, kw_only=True)
class ResourceRule:
    """A rule over one resource at a time: `check` gives a reason per problem, none when the resource passes."""

    name: str
    description: str
    types: tuple[str, ...]
    """Type tokens the rule judges; empty means every resource."""
    check: Callable[[Resource], Iterable[str]]

    def applies_to(self, resource: Resource) -> bool:
        return not self.types or resource.type in self.types

    def findings(self, resources: Sequence[Resource]) -> list[Finding]:
        return [
            Finding(self.name, resource, reason)
            for resource in resources
            if self.applies_to(resource)
            for reason in self.check(resource)
        ]


@dataclass(frozen=True, kw_only=True)
class StackRule:
    """A rule across resources (a bucket and its policy, a function and its log group), given a whole stack."""

    name: str
    description: str
    types: tuple[str, ...]
    """Type tokens of the resources the rule passes judgement on (what `policy check` counts as checked)."""
    check: Callable[[Sequence[Resource]], Iterable[tuple[Resource, str]]]

    def applies_to(self, resource: Resource) -> bool:
        return not self.types or resource.type in self.types

    def findings(self, resources: Sequence[Resource]) -> list[Finding]:
        return [Finding(self.name, resource, reason) for resource, reason in self.check(resources)]


Rule = ResourceRule | StackRule


@dataclass(frozen=True)
class Evaluation:
    """Every finding of a rule set over some resources, and what each rule judged."""

    findings: list[Finding]
    judged: dict[str, int] = field(default_factory=dict)
    """Rule name -> how many resources it passed judgement on."""
    checked: int = 0
    """Resources at least one rule judged."""


def evaluate(
    scope: Sequence[Resource], rules: Sequence[Rule], subjects: Sequence[Resource] | None = None
) -> Evaluation:
    """Judge `subjects` (default: all of `scope`) by every rule; cross-resource rules see all of `scope`.

    Resource rules run one resource at a time, stack rules once over the scope, keeping what they say about
    subjects: a check narrowed to one layer still matches a queue with the mapping another layer owns.
    """
    judged_resources = scope if subjects is None else subjects
    wanted = {resource.urn for resource in judged_resources}
    findings: list[Finding] = []
    judged: dict[str, int] = {}
    checked: set[str] = set()
    for rule in rules:
        seen = judged_resources if isinstance(rule, ResourceRule) else scope
        findings.extend(f for f in rule.findings(seen) if f.resource.urn in wanted)
        names = {resource.urn for resource in judged_resources if rule.applies_to(resource)}
        judged[rule.name] = len(names)
        checked |= names
    return Evaluation(findings, judged, len(checked))
