"""The `policy check` report: a table for people, a JSON list of violations for CI."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline_infra_tools.guardrails.check import CheckReport, Violation


def violation_line(violation: Violation) -> str:
    return (
        f"FAIL {violation.rule} [{violation.environment}] {violation.type} {violation.name} "
        f"({violation.urn}): {violation.reason}"
    )


def render_table(report: CheckReport) -> str:
    failing: dict[str, int] = {}
    for violation in report.violations:
        failing[violation.rule] = failing.get(violation.rule, 0) + 1
    width = max(28, *(len(rule.name) + 2 for rule in report.rules))
    lines = [
        f"guardrails for env {report.environment}: {len(report.rules)} rules, {report.resources} resources in "
        f"{len(report.stacks)} stack(s), {report.checked} judged by at least one rule",
        *(f"  {stack}: {count} resources" for stack, count in report.stacks.items()),
        "",
        f"  {'rule':<{width}}{'judged':>7}{'failed':>8}  what it checks",
    ]
    lines += [
        f"  {rule.name:<{width}}{report.judged.get(rule.name, 0):>7}{failing.get(rule.name, 0):>8}  {rule.description}"
        for rule in report.rules
    ]
    lines.append("")
    if not report.violations:
        lines.append(f"no violations in env {report.environment}")
    else:
        lines.append(f"{len(report.violations)} violation(s) in env {report.environment}:")
        lines += [violation_line(violation) for violation in report.violations]
    return "\n".join(lines)


def render_json(report: CheckReport) -> str:
    return json.dumps([violation.to_json() for violation in report.violations], indent=2)
