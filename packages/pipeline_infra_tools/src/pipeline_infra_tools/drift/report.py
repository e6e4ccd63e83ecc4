"""The drift report as a table (for people), JSON (for tools) or Markdown (for a pull-request comment).

JSON schema (`--format json`), version `pipeline-infra.drift/1`::

    {
      "schema": "pipeline-infra.drift/1",
      "environments": ["dev", "staging", "prod"],    # compared, in declared order
      "baseline": "prod",                            # every environment is compared with this one
      "live": false,                                 # whether deployed state, unmanaged resources and data were
                                                     # compared
      "has_drift": false,
      "summary": {
        "differences": 38, "approved": 38, "drift": 0,
        "by_category": {"settings": {"approved": 18, "drift": 0}, "structure": {...}, ...},
        "compared": {"settings": 210, "structure": 142, "live": 0, "data": 0,   # values/resources looked at;
                     "unmanaged": 0}            # "live", "data", "unmanaged" only with --live
      },
      "repairs": ["pipeline-infra resync --from prod --to dev", ...],          # distinct, for drift only
      "differences": [                               # drift first, then by category, environment, layer, resource
        {
          "category": "settings" | "structure" | "live" | "data" | "unmanaged",   # unmanaged: in the cloud,
                                         # tagged or named like the project's, in no stack record
          "kind": "value" | "missing" | "extra" | "type" | "unchecked",
          "baseline": "prod",            # a side: an environment, or "code" for live and unmanaged drift
          "environment": "dev",          # the other side
          "layer": "processing" | null,  # an unmanaged resource's `Layer` tag, when it has one
          "resource": "processing-validator-function" | null,   # logical name, env tokens as {env} etc.;
                                                                # object key or item key for data drift;
                                                                # the cloud's name of an unmanaged resource
          "type": "aws:lambda/function:Function" | null,        # "object"/"item" for data drift
          "path": "memorySize",          # setting or input path; "(resource)", "(layer)", "(parent)" for
                                         # presence, layer and parent differences; the detail for data drift;
                                         # "(attached)" for a child no stack records on a managed resource
          "values": {"prod": 2048, "dev": 512},   # per side; a side without the value is in "absent"
          "absent": [],
          "status": "approved" | "drift",
          "approval": {"pattern": "aws:lambda/function:Function.memorySize", "reason": "...",   # an unmanaged
                       # entry's pattern is "unmanaged <type> <name glob>"
                       "rule": "non_decreasing" | "non_increasing" | null} | null,
          "rule_result": "non_decreasing holds: dev 512 <= staging 1024 <= prod 2048" | null,
          "note": "adds wildcard grant ['s3:*']" | null,   # for unmanaged: why it is judged the project's
          "repair": "command or edit that removes the difference",
          "physical": "company-scratch-dev-pl01" | null   # the cloud's name, ARN or URL, when known
        }
      ]
    }
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.drift.models import Category, Status

if TYPE_CHECKING:
    from pipeline_infra_tools.drift.models import Difference, DriftReport

SCHEMA = "pipeline-infra.drift/1"
FORMATS = ("table", "json", "markdown")
_CELL = 60


def _sorted(report: DriftReport) -> list[Difference]:
    order = {env: index for index, env in enumerate(report.environments)}
    categories = list(Category)
    return sorted(
        report.differences,
        key=lambda d: (
            d.status is Status.APPROVED,
            categories.index(d.category),
            order.get(d.environment, len(order)),
            d.layer or "",
            d.resource or "",
            d.path,
        ),
    )


def to_json(report: DriftReport) -> dict[str, Any]:
    by_category = {
        category.value: {
            status.value: sum(1 for d in report.differences if d.category is category and d.status is status)
            for status in Status
        }
        for category in Category
    }
    return {
        "schema": SCHEMA,
        "environments": list(report.environments),
        "baseline": report.baseline,
        "live": report.live,
        "has_drift": report.has_drift,
        "summary": {
            "differences": len(report.differences),
            "approved": len(report.approved),
            "drift": len(report.drift),
            "by_category": by_category,
            "compared": dict(report.compared),
        },
        "repairs": report.repairs(),
        "differences": [d.to_json() for d in _sorted(report)],
    }


def _short(value: Any, width: int = _CELL) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def values_text(difference: Difference, width: int = _CELL) -> str:
    parts = [f"{side}={_short(value, width // 2)}" for side, value in difference.values.items()]
    parts += [f"{side}=<absent>" for side in difference.absent]
    return " ".join(parts)


def why_text(difference: Difference) -> str:
    parts = []
    if difference.approval is not None:
        parts.append(difference.approval.reason)
    if difference.rule_result:
        parts.append(difference.rule_result)
    if difference.note:
        parts.append(difference.note)
    if difference.status is Status.DRIFT and difference.approval is None and not difference.note:
        parts.append("not an approved difference")
    return "; ".join(parts)


def _rows(differences: list[Difference]) -> list[list[str]]:
    return [
        [
            d.status.value.upper(),
            d.category.value,
            d.pair,
            d.layer or "-",
            d.resource or "-",
            _short(d.path),
            values_text(d),
            why_text(d),
        ]
        for d in differences
    ]


def _summary(report: DriftReport) -> str:
    verdict = "DRIFT" if report.has_drift else "no drift"
    return (
        f"{verdict}: {len(report.differences)} difference(s), {len(report.approved)} approved, "
        f"{len(report.drift)} drift; environments {', '.join(report.environments)} against {report.baseline}"
        + (" (with deployed state, unmanaged resources and data)" if report.live else "")
    )


def to_table(report: DriftReport) -> str:
    headers = ["STATUS", "CATEGORY", "PAIR", "LAYER", "RESOURCE", "PATH", "VALUES", "WHY"]
    rows = _rows(_sorted(report))
    widths = [max([len(headers[i])] + [len(row[i]) for row in rows]) for i in range(len(headers) - 1)]
    lines = [_summary(report), ""]
    if rows:
        lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)) + "  WHY")
        for row in rows:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    repairs = report.repairs()
    if repairs:
        lines += ["", "To repair the drift:"] + [f"  {command}" for command in repairs]
    return "\n".join(lines)


def _md(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def _md_table(differences: list[Difference], with_repair: bool) -> list[str]:
    headers = ["Pair", "Category", "Layer", "Resource", "Path", "Values", "Why"] + (["Repair"] if with_repair else [])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for d in differences:
        cells = [
            d.pair,
            d.category.value,
            d.layer or "-",
            d.resource or "-",
            f"`{d.path}`",
            values_text(d),
            why_text(d),
        ]
        if with_repair:
            cells.append(f"`{d.repair}`" if d.repair else "")
        lines.append("| " + " | ".join(_md(cell) for cell in cells) + " |")
    return lines


def to_markdown(report: DriftReport) -> str:
    ordered = _sorted(report)
    drift = [d for d in ordered if d.status is Status.DRIFT]
    approved = [d for d in ordered if d.status is Status.APPROVED]
    title = "Drift found" if report.has_drift else "No drift"
    lines = [f"### {title}: {', '.join(report.environments)} against {report.baseline}", "", _summary(report), ""]
    if drift:
        lines += [f"#### Drift ({len(drift)})", "", *_md_table(drift, with_repair=True), ""]
        lines += ["To repair:", "", *[f"- `{command}`" for command in report.repairs()], ""]
    if approved:
        lines += [f"<details><summary>Approved differences ({len(approved)})</summary>", ""]
        lines += [*_md_table(approved, with_repair=False), "", "</details>"]
    return "\n".join(lines)


def render_report(report: DriftReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_json(report), indent=2, sort_keys=False, default=str)
    if fmt == "markdown":
        return to_markdown(report)
    return to_table(report)
