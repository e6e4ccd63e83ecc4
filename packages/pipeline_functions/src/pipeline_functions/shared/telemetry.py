"""EMF metrics through Powertools; one metric per call so each can carry its own dimensions."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from pipeline_functions.constants import METRICS_NAMESPACE

if TYPE_CHECKING:
    from collections.abc import Mapping

COUNT = MetricUnit.Count
SECONDS = MetricUnit.Seconds
BYTES = MetricUnit.Bytes
MILLISECONDS = MetricUnit.Milliseconds


def emit_metric(name: str, value: float, unit: MetricUnit = COUNT, dimensions: Mapping[str, str] | None = None) -> None:
    """Print one EMF record; the namespace comes from POWERTOOLS_METRICS_NAMESPACE (default PipelineInfra)."""
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or METRICS_NAMESPACE
    with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
        for key, item in (dimensions or {}).items():
            metric.add_dimension(name=key, value=item)
