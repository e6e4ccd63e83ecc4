"""`pipeline-infra policy check`: the guardrails over an environment's rendered graph, offline.

The graph is the one `pipeline-infra render --env E --format json` prints; every stack of the environment is
rendered so cross-resource rules see what other layers own, and `layers` narrows what is judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import project_name
from pipeline_infra.settings import load_settings
from pipeline_infra_tools.guardrails.exceptions import GuardrailsUsageError
from pipeline_infra_tools.guardrails.graph import stack_resources
from pipeline_infra_tools.guardrails.model import evaluate
from pipeline_infra_tools.guardrails.rules import RULES
from pipeline_infra_tools.programs.render import render_environment

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from pipeline_infra_tools.guardrails.model import Resource, Rule
    from pipeline_infra_tools.workspace import Workspace


@dataclass(frozen=True)
class Violation:
    """One rule one resource fails, in one environment, and why."""

    rule: str
    environment: str
    type: str
    name: str
    urn: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "environment": self.environment,
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CheckReport:
    """What was checked (stacks, resources, rules) and every violation found."""

    environment: str
    rules: tuple[Rule, ...]
    stacks: dict[str, int]
    """`project/stack` -> resources in it, for the stacks judged."""
    checked: int
    """Resources at least one rule judged."""
    judged: dict[str, int]
    """Rule name -> resources it judged."""
    violations: list[Violation] = field(default_factory=list)

    @property
    def resources(self) -> int:
        return sum(self.stacks.values())

    @property
    def exit_code(self) -> int:
        return 1 if self.violations else 0


def check_document(
    document: Mapping[str, Any], projects: Collection[str] | None = None, rules: Sequence[Rule] = RULES
) -> CheckReport:
    """Run `rules` over a rendered environment document; `projects` narrows the stacks judged."""
    environment = str(document["environment"])
    stacks = list(document.get("stacks") or [])
    scope: list[Resource] = []
    subjects: list[Resource] = []
    counted: dict[str, int] = {}
    for stack in stacks:
        resources = stack_resources(stack)
        scope += resources
        if projects is None or stack["project"] in projects:
            subjects += resources
            counted[f"{stack['project']}/{stack['stack']}"] = len(resources)
    evaluation = evaluate(scope, rules, subjects)
    violations = [
        Violation(f.rule, environment, f.resource.type, f.resource.name, f.resource.urn, f.reason)
        for f in evaluation.findings
    ]
    return CheckReport(environment, tuple(rules), counted, evaluation.checked, evaluation.judged, violations)


def check_environment(workspace: Workspace, env: str, layers: Sequence[str] | None = None) -> CheckReport:
    """Render every stack of `env` (as `render` does) and run the guardrails; `layers` narrows what is judged."""
    settings = load_settings(workspace.config_dir)
    settings.env(env)
    available = workspace.layers_for(env)
    missing = [layer for layer in layers or () if layer not in available]
    if missing:
        raise GuardrailsUsageError(
            f"env {env} has no stack of layer(s) {', '.join(missing)}; its layers are {', '.join(available)}"
        )
    document = render_environment(workspace, env)
    projects = {project_name(settings, layer) for layer in layers} if layers else None
    return check_document(document, projects)
