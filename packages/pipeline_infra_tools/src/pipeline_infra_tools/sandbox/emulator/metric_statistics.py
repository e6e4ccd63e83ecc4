"""CloudWatch percentile statistics (`p50`, `p95`, `p99.9`), which moto answers with nothing.

CloudWatch computes a percentile from the samples of a period; moto keeps every sample a PutMetricData sent as
a value (or values with counts), so the percentile is computed from those, nearest rank. Data sent as a
statistic set has no samples: a period holding any is answered with no value, as CloudWatch does for
percentiles of statistic sets it cannot compute. `pipeline-infra status` asks for the replication lag's p50
and p95 through GetMetricData exactly as it does in AWS.
"""

from __future__ import annotations

import math
import re
from typing import Any

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def nearest_rank(values: list[float], percentile: float) -> float | None:
    """The smallest sample with at least `percentile` percent of the samples at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def metric_statistics_answer_percentiles() -> None:
    from moto.cloudwatch import models

    original = models.Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = PERCENTILE.match(stat)
        if match is None:
            return original(self, stat)
        if self.metric_aggregated_list:
            return None
        return nearest_rank(self.metric_single_values_list, float(match.group(1)))

    models.Statistics.get_statistics_for_type = get_statistics_for_type  # type: ignore[method-assign]


__all__ = ["metric_statistics_answer_percentiles", "nearest_rank"]
