"""`pipeline-infra status`: replication health at a glance, read from CloudWatch and SQS.

What it reads, and where from:
- replication in the window: the replicator's EMF metrics (`ReplicationSucceeded`, `ReplicationSkipped`,
  `ReplicationFailed`, `ReplicationRetrying` and the lag `LAG_METRIC`, per `TargetEnvironment`; `EventRejected`
  and `DeadLettered`) in the source environment's region;
- dead-letter queues: every `*_dlq_url` output of the environment's deployed stacks, their SQS depth;
- alarms: DescribeAlarms StateValue=ALARM, kept when the alarm's `Environment` tag names the environment (or,
  untagged, its name carries `-<env>-<suffix>`, the naming rule);
- the last drift check: the drift checker's `DriftCount` and `BrokenReplicationPaths` metrics (it publishes
  them on every run that completes), the newest within its schedule plus `DRIFT_CHECK_MARGIN`.

Needs attention (exit 1): a DLQ holding messages, an alarm in ALARM, a replication failure, rejection or dead
letter in the window, a drift check that found drift or broken paths, or none within its schedule plus margin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.operations.status_metrics import (
    ENVIRONMENT_DIMENSION,
    NAMESPACE,
    TARGET_DIMENSION,
    latest_datapoint,
    list_series,
    window_statistics,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pipeline_infra_tools.operations.status_metrics import Series

# The replicator's metric names (pipeline_functions.replicator); the lag metric is the one alarms also watch.
SUCCEEDED, SKIPPED, FAILED, RETRYING = (
    "ReplicationSucceeded",
    "ReplicationSkipped",
    "ReplicationFailed",
    "ReplicationRetrying",
)
LAG_METRIC = "ReplicationLagSeconds"
REJECTED, DEAD_LETTERED = "EventRejected", "DeadLettered"
# The drift checker's metrics (pipeline_functions.drift_checker).
DRIFT_COUNT, BROKEN_PATHS = "DriftCount", "BrokenReplicationPaths"
# How late a scheduled drift check may be before it counts as not having run.
DRIFT_CHECK_MARGIN = timedelta(hours=1)
DLQ_OUTPUT = re.compile(r"(^|_)dlq_url$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
# A cron schedule's interval is not computed; it is taken as daily, the default schedule.
DEFAULT_INTERVAL = timedelta(days=1)

# The newest hour is read minute by minute, so two checks a few minutes apart are told apart.
RECENT = timedelta(hours=1)


def schedule_interval(expression: str) -> timedelta:
    """The interval of an EventBridge `rate(...)` expression; a cron expression counts as daily."""
    match = _RATE.match(expression.strip())
    if match is None:
        return DEFAULT_INTERVAL
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return timedelta(**{f"{unit}s": amount})


@dataclass(frozen=True)
class StatusRequest:
    environment: str
    start: datetime
    end: datetime
    source_environment: str
    source_region: str
    region: str
    name_suffix: str
    drift_schedule: str
    # {layer: outputs} of the environment's deployed stacks
    outputs: Mapping[str, Mapping[str, Any]]


@dataclass
class StatusReport:
    environment: str
    window: dict[str, Any]
    replication: dict[str, Any]
    dead_letter_queues: list[dict[str, Any]]
    alarms: dict[str, Any]
    drift_check: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "healthy": self.healthy,
            "problems": self.problems,
            "window": self.window,
            "replication": self.replication,
            "dead_letter_queues": self.dead_letter_queues,
            "alarms": self.alarms,
            "drift_check": self.drift_check,
        }


def _targets_of(series: Series, request: StatusRequest) -> str | None:
    """The target environment a series counts for, or None when it is not about this environment."""
    target = series.dimension(TARGET_DIMENSION)
    if target is None:
        return None
    if request.environment in (request.source_environment, target):
        return target
    return None


def replication_health(cloudwatch: Any, request: StatusRequest) -> dict[str, Any]:
    """Counts and lag per target environment in the window, from the replicator's metrics."""
    counts = (SUCCEEDED, SKIPPED, FAILED, RETRYING)
    series = [s for name in counts for s in list_series(cloudwatch, NAMESPACE, name) if _targets_of(s, request)]
    lag_series = [s for s in list_series(cloudwatch, NAMESPACE, LAG_METRIC) if _targets_of(s, request)]
    sums = window_statistics(cloudwatch, NAMESPACE, series, ("Sum",), request.start, request.end)
    lags = window_statistics(
        cloudwatch, NAMESPACE, lag_series, ("p50", "p95", "Maximum", "SampleCount"), request.start, request.end
    )
    targets: dict[str, dict[str, Any]] = {}

    def entry(target: str) -> dict[str, Any]:
        return targets.setdefault(
            target, {"changes": 0, "succeeded": 0, "skipped": 0, "failed": 0, "retrying": 0, "lag_seconds": None}
        )

    for (s, _), value in sums.items():
        key = {SUCCEEDED: "succeeded", SKIPPED: "skipped", FAILED: "failed", RETRYING: "retrying"}[s.name]
        entry(str(_targets_of(s, request)))[key] += int(value)
    for s in lag_series:
        samples = lags.get((s, "SampleCount"))
        if not samples:
            continue
        lag = entry(str(_targets_of(s, request)))
        previous = lag["lag_seconds"] or {"p50": None, "p95": None, "max": None, "samples": 0}
        # Several dimension sets for one target (a renamed function): the larger value is the conservative one.
        lag["lag_seconds"] = {
            "p50": _larger(previous["p50"], lags.get((s, "p50"))),
            "p95": _larger(previous["p95"], lags.get((s, "p95"))),
            "max": _larger(previous["max"], lags.get((s, "Maximum"))),
            "samples": previous["samples"] + int(samples),
        }
    for values in targets.values():
        # A change is final once it succeeded, was skipped (already in step) or failed for good.
        values["changes"] = values["succeeded"] + values["skipped"] + values["failed"]
        if values["lag_seconds"] is None:
            values["lag_unavailable"] = (
                f"no {LAG_METRIC} samples in the window (no change was replicated)"
                if not values["succeeded"]
                else f"no {LAG_METRIC} samples in the window although changes replicated; is {LAG_METRIC} published?"
            )
    totals = {key: sum(t[key] for t in targets.values()) for key in ("changes", "succeeded", "skipped", "failed")}
    totals["rejected"] = _environment_sum(cloudwatch, request, REJECTED)
    totals["dead_lettered"] = _environment_sum(cloudwatch, request, DEAD_LETTERED)
    return {
        "source_environment": request.source_environment,
        "namespace": NAMESPACE,
        "lag_metric": LAG_METRIC,
        "targets": dict(sorted(targets.items())),
        "totals": totals,
    }


def _larger(first: float | None, second: float | None) -> float | None:
    present = [v for v in (first, second) if v is not None]
    return max(present) if present else None


def _environment_sum(cloudwatch: Any, request: StatusRequest, name: str) -> int:
    """A replicator metric that is not per target: counted only on the source environment's status."""
    if request.environment != request.source_environment:
        return 0
    series = list_series(cloudwatch, NAMESPACE, name)
    sums = window_statistics(cloudwatch, NAMESPACE, series, ("Sum",), request.start, request.end)
    return int(sum(sums.values()))


def dead_letter_queues(sqs: Any, request: StatusRequest) -> list[dict[str, Any]]:
    """Depth of every DLQ the environment's stacks export (`*_dlq_url` outputs)."""
    queues = []
    for layer, outputs in sorted(request.outputs.items()):
        for key, url in sorted(outputs.items()):
            if not DLQ_OUTPUT.search(key) or not isinstance(url, str):
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            queues.append(
                {
                    "layer": layer,
                    "output": key,
                    "name": url.rstrip("/").rsplit("/", 1)[-1],
                    "url": url,
                    "depth": int(attributes.get("ApproximateNumberOfMessages", 0)),
                    "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                }
            )
    return queues


def alarms_in_alarm(cloudwatch: Any, request: StatusRequest) -> dict[str, Any]:
    """The environment's metric and composite alarms in ALARM."""
    token = f"-{request.environment}-{request.name_suffix}"
    found: list[dict[str, Any]] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        StateValue="ALARM", AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            if _belongs(cloudwatch, alarm, request.environment, token):
                found.append(
                    {
                        "name": alarm["AlarmName"],
                        "reason": alarm.get("StateReason", ""),
                        "since": _iso(alarm.get("StateUpdatedTimestamp")),
                    }
                )
    return {"in_alarm": sorted(found, key=lambda a: a["name"]), "selected_by": f"tag Environment={request.environment}"}


def _belongs(cloudwatch: Any, alarm: dict[str, Any], environment: str, token: str) -> bool:
    tags = {t["Key"]: t["Value"] for t in cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]}
    if "Environment" in tags:
        return tags["Environment"] == environment
    name: str = alarm["AlarmName"]
    return token in name


def drift_check(cloudwatch: Any, request: StatusRequest) -> dict[str, Any]:
    """The newest completed drift check within its schedule plus margin, and what it found."""
    interval = schedule_interval(request.drift_schedule)
    lookback = interval + DRIFT_CHECK_MARGIN
    start = request.end - lookback
    # GetMetricStatistics returns at most 1440 points: beyond the last hour, the period grows with the lookback.
    period = max(300, -(-int(lookback.total_seconds()) // 1440 // 60) * 60)

    def newest(series: Series) -> tuple[datetime, float] | None:
        recent = latest_datapoint(cloudwatch, NAMESPACE, series, max(start, request.end - RECENT), request.end, 60)
        return recent or latest_datapoint(cloudwatch, NAMESPACE, series, start, request.end, period)

    last: datetime | None = None
    drift: dict[str, int] = {}
    broken = 0
    for name in (DRIFT_COUNT, BROKEN_PATHS):
        for series in list_series(cloudwatch, NAMESPACE, name):
            about = series.dimension(TARGET_DIMENSION) or series.dimension(ENVIRONMENT_DIMENSION)
            if request.environment not in (request.source_environment, about):
                continue
            point = newest(series)
            if point is None:
                continue
            when, value = point
            last = when if last is None or when > last else last
            if name == DRIFT_COUNT:
                drift[str(about)] = int(value)
            else:
                broken += int(value)
    result = (
        "not run" if last is None else ("broken paths" if broken else ("drift" if any(drift.values()) else "clean"))
    )
    return {
        "source": f"CloudWatch metrics {NAMESPACE}/{DRIFT_COUNT} and {BROKEN_PATHS} of the drift checker",
        "schedule": request.drift_schedule,
        "stale_after_minutes": int(lookback.total_seconds() // 60),
        "last_run": _iso(last),
        "result": result,
        "drift": dict(sorted(drift.items())),
        "broken_paths": broken,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def problems_of(report: StatusReport) -> list[str]:
    problems = [
        f"dead-letter queue {q['name']} holds {q['depth']} message(s)" for q in report.dead_letter_queues if q["depth"]
    ]
    problems += [f"alarm {a['name']} is in ALARM: {a['reason']}" for a in report.alarms["in_alarm"]]
    for target, values in report.replication["targets"].items():
        if values["failed"]:
            problems.append(f"{values['failed']} change(s) failed to replicate to {target} in the window")
    totals = report.replication["totals"]
    if totals["rejected"]:
        problems.append(f"{totals['rejected']} event(s) rejected by the replicator in the window")
    if totals["dead_lettered"]:
        problems.append(f"{totals['dead_lettered']} change(s) dead-lettered in the window")
    check = report.drift_check
    if check["result"] == "not run":
        problems.append(
            f"no drift check completed in the last {check['stale_after_minutes']} minutes "
            f"(schedule {check['schedule']} plus margin)"
        )
    elif check["result"] != "clean":
        drifted = ", ".join(f"{env}: {count}" for env, count in check["drift"].items() if count)
        problems.append(
            f"the last drift check found {check['result']}"
            + (f" ({drifted})" if drifted else "")
            + (f", {check['broken_paths']} broken replication path(s)" if check["broken_paths"] else "")
        )
    return problems


def collect_status(clients: Callable[[str, str], Any], request: StatusRequest) -> StatusReport:
    """The environment's status; `clients(service, region)` gives a client (sandbox or AWS)."""
    source_cloudwatch = clients("cloudwatch", request.source_region)
    cloudwatch = clients("cloudwatch", request.region)
    report = StatusReport(
        environment=request.environment,
        window={
            "start": request.start.isoformat(),
            "end": request.end.isoformat(),
            "minutes": round((request.end - request.start).total_seconds() / 60, 1),
        },
        replication=replication_health(source_cloudwatch, request),
        dead_letter_queues=dead_letter_queues(clients("sqs", request.region), request),
        alarms=alarms_in_alarm(cloudwatch, request),
        drift_check=drift_check(source_cloudwatch, request),
    )
    report.problems = problems_of(report)
    return report


__all__ = [
    "DRIFT_CHECK_MARGIN",
    "LAG_METRIC",
    "StatusReport",
    "StatusRequest",
    "collect_status",
    "schedule_interval",
]
