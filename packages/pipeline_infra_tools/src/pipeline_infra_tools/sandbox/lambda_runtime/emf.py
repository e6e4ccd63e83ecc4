"""Embedded Metric Format records turned into PutMetricData requests, as CloudWatch Logs does for a function's log.

A record (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
is one JSON log line whose `_aws.CloudWatchMetrics` directives name a namespace, dimension sets (lists of keys of the
record) and metrics (keys of the record holding a number or a list of numbers). Every (directive, dimension set,
metric) becomes one metric datum with the record's timestamp. Pure functions: the runtime publishes what they return.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# PutMetricData's limits: metric data per request, and values per datum's Values list.
MAX_DATA_PER_REQUEST = 1000
MAX_VALUES_PER_DATUM = 150
# EMF allows at most 30 dimensions per dimension set and 100 values per metric (the spec's limits).
MAX_DIMENSIONS = 30
MAX_VALUES_PER_METRIC = 100
HIGH_RESOLUTION = 1


class EmfFormatError(ValueError):
    """A record that carries `_aws.CloudWatchMetrics` but breaks the format; CloudWatch would drop it."""


@dataclass(frozen=True)
class MetricDatum:
    """One PutMetricData datum of one namespace."""

    namespace: str
    datum: dict[str, Any]


def is_emf(record: Any) -> bool:
    """Whether a log line (already parsed) claims to be an EMF record."""
    return isinstance(record, dict) and isinstance(record.get("_aws"), dict) and "CloudWatchMetrics" in record["_aws"]


def _timestamp(metadata: dict[str, Any]) -> datetime:
    stamp = metadata.get("Timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        raise EmfFormatError(f"_aws.Timestamp must be milliseconds since the epoch, got {stamp!r}")
    return datetime.fromtimestamp(stamp / 1000, UTC)


def _values(record: dict[str, Any], name: str) -> list[float]:
    value = record.get(name)
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES_PER_METRIC:
        raise EmfFormatError(f"metric {name!r} must hold 1 to {MAX_VALUES_PER_METRIC} values, got {len(values)}")
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(values):
        raise EmfFormatError(f"metric {name!r} must hold a number or a list of numbers, got {value!r}")
    return numbers


def _dimensions(record: dict[str, Any], keys: Any) -> list[dict[str, str]]:
    if not isinstance(keys, list) or len(keys) > MAX_DIMENSIONS:
        raise EmfFormatError(f"a dimension set must be a list of at most {MAX_DIMENSIONS} keys, got {keys!r}")
    dimensions = []
    for key in keys:
        value = record.get(key)
        if not isinstance(value, str):
            raise EmfFormatError(f"dimension {key!r} must be a string member of the record, got {value!r}")
        dimensions.append({"Name": key, "Value": value})
    return dimensions


def _datum(
    name: str, unit: str, resolution: Any, dimensions: list[dict[str, str]], when: datetime, values: list[float]
) -> dict[str, Any]:
    counts = Counter(values)
    datum: dict[str, Any] = {
        "MetricName": name,
        "Dimensions": dimensions,
        "Timestamp": when,
        "Unit": unit,
        # Equal values are sent once with their count, as a statistic set of samples.
        "Values": list(counts),
        "Counts": [float(c) for c in counts.values()],
    }
    if resolution == HIGH_RESOLUTION:
        datum["StorageResolution"] = HIGH_RESOLUTION
    return datum


def metric_data(record: dict[str, Any]) -> list[MetricDatum]:
    """Every metric datum an EMF record describes; EmfFormatError naming what is wrong when it is malformed."""
    metadata = record["_aws"]
    when = _timestamp(metadata)
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise EmfFormatError(f"_aws.CloudWatchMetrics must be a list, got {directives!r}")
    data: list[MetricDatum] = []
    for directive in directives:
        namespace = directive.get("Namespace") if isinstance(directive, dict) else None
        if not isinstance(namespace, str) or not namespace:
            raise EmfFormatError(f"a metric directive needs a Namespace, got {directive!r}")
        # No dimension set at all publishes the metrics without dimensions.
        dimension_sets = directive.get("Dimensions") or [[]]
        for definition in directive.get("Metrics") or []:
            name = definition.get("Name") if isinstance(definition, dict) else None
            if not isinstance(name, str) or not name:
                raise EmfFormatError(f"a metric definition needs a Name, got {definition!r}")
            values = _values(record, name)
            unit = str(definition.get("Unit") or "None")
            for keys in dimension_sets:
                dimensions = _dimensions(record, keys)
                for start in range(0, len(values), MAX_VALUES_PER_DATUM):
                    chunk = values[start : start + MAX_VALUES_PER_DATUM]
                    data.append(
                        MetricDatum(
                            namespace,
                            _datum(name, unit, definition.get("StorageResolution"), dimensions, when, chunk),
                        )
                    )
    return data


def put_metric_data_requests(data: list[MetricDatum]) -> list[dict[str, Any]]:
    """PutMetricData keyword arguments: one namespace each, at most MAX_DATA_PER_REQUEST data, in record order."""
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for item in data:
        by_namespace.setdefault(item.namespace, []).append(item.datum)
    return [
        {"Namespace": namespace, "MetricData": datums[start : start + MAX_DATA_PER_REQUEST]}
        for namespace, datums in by_namespace.items()
        for start in range(0, len(datums), MAX_DATA_PER_REQUEST)
    ]


__all__ = ["EmfFormatError", "MetricDatum", "is_emf", "metric_data", "put_metric_data_requests"]
