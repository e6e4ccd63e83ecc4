"""What `status` reads from CloudWatch: the functions' EMF metrics, whatever dimension sets they carry.

Powertools adds the function's `service` dimension to every metric, so a metric's dimension sets are found with
ListMetrics and each one is queried; a set counts for a target environment when its `TargetEnvironment` (or
`Environment`) dimension names it. The same calls answer in AWS and in the sandbox (whose runtime publishes the
functions' EMF lines into the emulator's CloudWatch, and whose emulator answers percentiles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

# The functions' namespace (pipeline_functions.constants.METRICS_NAMESPACE, unless POWERTOOLS_METRICS_NAMESPACE).
NAMESPACE = "PipelineInfra"
TARGET_DIMENSION = "TargetEnvironment"
ENVIRONMENT_DIMENSION = "Environment"
# GetMetricData takes at most this many queries per call.
MAX_QUERIES = 500


@dataclass(frozen=True)
class Series:
    """One metric with one dimension set."""

    name: str
    dimensions: tuple[tuple[str, str], ...]

    def dimension(self, key: str) -> str | None:
        return dict(self.dimensions).get(key)

    def metric(self, namespace: str) -> dict[str, Any]:
        return {
            "Namespace": namespace,
            "MetricName": self.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
        }


def list_series(cloudwatch: Any, namespace: str, name: str) -> list[Series]:
    """Every dimension set the metric was published with (deduplicated, in a stable order)."""
    found: set[Series] = set()
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace, MetricName=name):
        for metric in page.get("Metrics", []):
            dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            found.add(Series(name, dims))
    return sorted(found, key=lambda s: s.dimensions)


def period_for(start: datetime, end: datetime) -> int:
    """One period covering the whole window, a multiple of 60 seconds as GetMetricData requires."""
    return max(60, math.ceil((end - start).total_seconds() / 60) * 60)


def window_statistics(
    cloudwatch: Any, namespace: str, series: list[Series], stats: tuple[str, ...], start: datetime, end: datetime
) -> dict[tuple[Series, str], float]:
    """{(series, stat): value over the whole window}; a series with no data in the window has no entry."""
    queries = [(s, stat) for s in series for stat in stats]
    values: dict[tuple[Series, str], float] = {}
    period = period_for(start, end)
    for offset in range(0, len(queries), MAX_QUERIES):
        chunk = queries[offset : offset + MAX_QUERIES]
        request = [
            {
                "Id": f"q{index}",
                "MetricStat": {"Metric": s.metric(namespace), "Period": period, "Stat": stat},
                "ReturnData": True,
            }
            for index, (s, stat) in enumerate(chunk)
        ]
        paginator = cloudwatch.get_paginator("get_metric_data")
        for page in paginator.paginate(MetricDataQueries=request, StartTime=start, EndTime=end):
            for result in page.get("MetricDataResults", []):
                numbers = [v for v in result.get("Values", []) if v is not None]
                if not numbers:
                    continue
                key = chunk[int(result["Id"][1:])]
                # A window that straddles period boundaries comes back as several periods.
                values[key] = _combine(key[1], [values[key], *numbers] if key in values else numbers)
    return values


def _combine(stat: str, numbers: list[float]) -> float:
    if stat in ("Sum", "SampleCount"):
        return float(sum(numbers))
    if stat == "Minimum":
        return float(min(numbers))
    # Maximum, and percentiles of several periods: the largest is the conservative answer.
    return float(max(numbers))


def latest_datapoint(
    cloudwatch: Any, namespace: str, series: Series, start: datetime, end: datetime, period: int = 300
) -> tuple[datetime, float] | None:
    """(time, Maximum) of the newest period with data in [start, end), or None."""
    response = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=series.name,
        Dimensions=series.metric(namespace)["Dimensions"],
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=["Maximum"],
    )
    points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
    if not points:
        return None
    newest = points[-1]
    return newest["Timestamp"], float(newest["Maximum"])


__all__ = [
    "ENVIRONMENT_DIMENSION",
    "NAMESPACE",
    "TARGET_DIMENSION",
    "Series",
    "latest_datapoint",
    "list_series",
    "period_for",
    "window_statistics",
]
