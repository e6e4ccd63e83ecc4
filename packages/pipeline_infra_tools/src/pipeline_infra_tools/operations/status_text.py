"""The text form of a status report: one screen, the problems first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline_infra_tools.operations.status import StatusReport


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _lag(values: dict[str, Any]) -> str:
    lag = values["lag_seconds"]
    if lag is None:
        return f"lag n/a: {values['lag_unavailable']}"
    spread = f"p50 {_seconds(lag['p50'])} p95 {_seconds(lag['p95'])} max {_seconds(lag['max'])}"
    return f"lag {spread} ({lag['samples']} samples)"


def render_status_text(report: StatusReport) -> str:
    window = report.window
    lines = [
        f"status of {report.environment}: {'healthy' if report.healthy else 'NEEDS ATTENTION'}",
        f"window: {window['start']} .. {window['end']} ({window['minutes']} min)",
    ]
    lines += [f"  ! {problem}" for problem in report.problems]
    replication = report.replication
    lines.append(f"\nreplication from {replication['source_environment']} ({replication['namespace']} metrics)")
    if not replication["targets"]:
        lines.append("  no replication activity in the window")
    for target, values in replication["targets"].items():
        lines.append(
            f"  -> {target}: {values['changes']} change(s), {values['succeeded']} succeeded, "
            f"{values['skipped']} skipped, {values['failed']} failed, {values['retrying']} retrying; {_lag(values)}"
        )
    totals = replication["totals"]
    lines.append(f"  rejected events: {totals['rejected']}, dead-lettered: {totals['dead_lettered']}")
    lines.append("\ndead-letter queues")
    lines += [
        f"  {q['name']} ({q['layer']}.{q['output']}): {q['depth']} waiting, {q['in_flight']} in flight"
        for q in report.dead_letter_queues
    ] or ["  none exported by the deployed stacks"]
    lines.append(f"\nalarms in ALARM ({report.alarms['selected_by']})")
    lines += [f"  {a['name']} since {a['since']}: {a['reason']}" for a in report.alarms["in_alarm"]] or ["  none"]
    check = report.drift_check
    lines.append(f"\nlast drift check ({check['source']})")
    lines.append(f"  {check['last_run'] or 'none'}: {check['result']} (schedule {check['schedule']})")
    lines += [f"  {env}: {count} difference(s)" for env, count in check["drift"].items()]
    return "\n".join(lines)


__all__ = ["render_status_text"]
